using System.Collections.Concurrent;
using System.Globalization;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Events.Transports;
using Courtyard.Storage;
using Courtyard.Storage.Postgres;
using Courtyard.Testing;
using Npgsql;

namespace Courtyard.Events.Tests;

/// <summary>
/// The relay's order per courtyard against real concurrent PostgreSQL transactions: writers on several connections in
/// this process and in a worker process draw outbox ids and hold their transactions open for a random time (some roll
/// back), so lower ids keep becoming visible after higher ones; the relay is restarted (a new term) while they write.
/// A consumer checks that each courtyard's events arrive in id order, every committed one exactly once.
/// </summary>
public sealed class PostgresOrderingTests
{
    private const string Worker = "Courtyard.Events.Tests.Worker";
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Each_courtyards_events_are_published_in_id_order_while_commits_land_out_of_order_from_two_processes_and_the_relay_restarts()
    {
        var database = await TestPostgres.CreateDatabaseAsync();
        await using var consumerDatabase = new TempDatabase("rules");
        await using var transport = new InProcessTransport();
        var seen = new ConcurrentDictionary<string, List<long>>();
        var outOfOrder = new ConcurrentQueue<string>();
        var deliveries = 0;
        await using var consumer = new EventBus(new EventBusOptions { Source = "rules", RelayEnabled = false }, await consumerDatabase.OpenAsync(), transport);
        consumer.HandleWithoutStoredEffect<ThingHappened>("rules", (_, delivery) =>
        {
            Interlocked.Increment(ref deliveries);
            var id = long.Parse(delivery.Event.Id["councils-".Length..], CultureInfo.InvariantCulture);
            var ids = seen.GetOrAdd(delivery.CourtyardId, _ => []);
            lock (ids)
            {
                if (ids.Count > 0 && ids[^1] >= id)
                {
                    outOfOrder.Enqueue($"{delivery.CourtyardId}: {id} after {ids[^1]}");
                }
                ids.Add(id);
            }
            return Task.CompletedTask;
        });
        await consumer.StartAsync();
        await using var storage = await PostgresStorageProvider.OpenAsync(database);
        EventBus? relay = null;
        async Task RestartRelayAsync()
        {
            if (relay is not null)
            {
                await relay.StopAsync();
            }
            relay = new EventBus(new EventBusOptions { Source = "councils", RelayPollInterval = TimeSpan.FromMilliseconds(20) }, storage, transport);
            await relay.StartAsync();
        }
        try
        {
            await RestartRelayAsync();
            await using var worker = ChildProcess.StartTestWorker(Worker,
                ["pg-write", "--pg", database, "--courtyards", "6", "--count", "400", "--writers", "4", "--seed", "2"]);
            var here = SlowPostgresWriters.RunAsync(database, courtyards: 6, count: 400, writers: 4, seed: 1, tag: "test");
            for (var restart = 0; restart < 3 && !here.IsCompleted; restart++)
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
                await RestartRelayAsync();   // each new term starts from the database, with transactions still open
            }
            var committedHere = await here;
            var committedThere = int.Parse((await worker.WaitForLineAsync("wrote ", Within))["wrote ".Length..], CultureInfo.InvariantCulture);
            var committed = committedHere + committedThere;
            Assert.True(committed > 600, $"{committed} transactions committed");

            await Eventually.HoldsAsync(async () => (await storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "every committed row published");
            await Eventually.HoldsAsync(() => seen.Values.Sum(ids => ids.Count) == committed, Within,
                $"each committed event handled ({seen.Values.Sum(ids => ids.Count)} of {committed})");
            Assert.Empty(outOfOrder);
            Assert.Equal(committed, seen.Values.SelectMany(ids => ids).Distinct().Count());
            Assert.Equal(await CountOutboxRowsAsync(database), committed);
        }
        finally
        {
            if (relay is not null)
            {
                await relay.StopAsync();
            }
            await consumer.StopAsync();
            await storage.DisposeAsync();
            await TestPostgres.DropDatabaseAsync(database);
        }
    }

    private static async Task<long> CountOutboxRowsAsync(string database)
    {
        await using var dataSource = NpgsqlDataSource.Create(database);
        await using var count = dataSource.CreateCommand("SELECT COUNT(*) FROM outbox");
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
