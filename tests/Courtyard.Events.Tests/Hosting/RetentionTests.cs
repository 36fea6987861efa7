using System.Collections.Concurrent;
using Courtyard.Events.Hosting;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Storage;
using Courtyard.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Tests;

/// <summary>Sent outbox rows and inbox marks are purged after their retention; unsent rows never are.</summary>
public class RetentionTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);

    private static async Task<long> CountRowsAsync(string databasePath, string table)
    {
        await using var connection = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task The_hosted_event_buses_purge_sent_outbox_rows_and_inbox_marks_past_their_retention()
    {
        await using var producerDatabase = new TempDatabase("councils");
        await using var consumerDatabase = new TempDatabase("rules");
        var producerStorage = await producerDatabase.OpenAsync();
        var consumerStorage = await consumerDatabase.OpenAsync();
        var handled = new ConcurrentDictionary<long, byte>();

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddEventBus("councils", _ => { }, o =>
        {
            o.SentOutboxRetention = TimeSpan.Zero;
            o.RetentionInterval = TimeSpan.FromMilliseconds(200);
        }, _ => producerStorage);
        builder.Services.AddEventBus("rules", bus => bus.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, _) =>
        {
            handled[thing.Sequence] = 0;
            return Task.CompletedTask;
        }), o =>
        {
            o.RelayEnabled = false;
            o.InboxRetention = TimeSpan.Zero;
            o.RetentionInterval = TimeSpan.FromMilliseconds(200);
        }, _ => consumerStorage);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var producer = host.Services.GetRequiredKeyedService<EventBus>("councils");
            long version = 0;
            for (var s = 0; s < 20; s++)
            {
                version = await producer.CommitThingAsync("courtyard-1", s, version);
            }

            await Eventually.HoldsAsync(() => handled.Count == 20, Within, "20 events handled");
            await Eventually.HoldsAsync(async () => await CountRowsAsync(producerDatabase.Path, "outbox") == 0, Within, "sent outbox rows purged");
            await Eventually.HoldsAsync(async () => await CountRowsAsync(consumerDatabase.Path, "inbox") == 0, Within, "inbox marks purged");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_purge_keeps_unsent_rows_whatever_their_age_and_by_default_keeps_what_was_just_sent_or_recorded()
    {
        await using var database = new TempDatabase("councils");
        var storage = await database.OpenAsync();
        await using var defaults = new EventBus(new EventBusOptions { Source = "councils", RelayEnabled = false }, storage, new Transports.InProcessTransport());
        await using var immediate = new EventBus(new EventBusOptions
        {
            Source = "councils",
            RelayEnabled = false,
            SentOutboxRetention = TimeSpan.Zero,
            InboxRetention = TimeSpan.Zero,
        }, storage, new Transports.InProcessTransport());
        long version = 0;
        for (var s = 0; s < 5; s++)
        {
            version = await defaults.CommitThingAsync("courtyard-1", s, version);
        }

        Assert.Equal((0L, 0L), await immediate.PurgeExpiredAsync());
        Assert.Equal(5, (await storage.Outbox.GetStatsAsync()).Unsent);

        var rows = await storage.Outbox.ReadUnsentAsync(10);
        await storage.Outbox.MarkSentAsync(rows.Take(3).Select(r => r.Id).ToArray());
        Assert.True(await storage.Inbox.TryRecordAsync(new InboxMark("rules", "councils", "councils-1")));

        Assert.Equal((0L, 0L), await defaults.PurgeExpiredAsync());   // 7 days / 30 days
        Assert.Equal(5, await CountRowsAsync(database.Path, "outbox"));
        var purged = (Rows: 0L, Marks: 0L);
        await Eventually.HoldsAsync(async () =>
        {
            var (rowsPurged, marksPurged) = await immediate.PurgeExpiredAsync();   // the clock must pass the sent_at / recorded_at microsecond
            purged = (purged.Rows + rowsPurged, purged.Marks + marksPurged);
            return purged == (3L, 1L);
        }, Within, "the 3 sent rows and the mark purged");
        Assert.Equal(rows.Skip(3).Select(r => r.Id), (await storage.Outbox.ReadUnsentAsync(10)).Select(r => r.Id));
        Assert.Equal(2, await CountRowsAsync(database.Path, "outbox"));
    }
}
