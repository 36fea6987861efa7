using Courtyard.Storage.Tests.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Courtyard.Storage.Tests;

/// <summary>JournaledGrain with CustomStorage on our journal (IJournal), through real silos; snapshots every 5 events here.</summary>
public abstract class JournalTests : IAsyncLifetime
{
    protected abstract TestDatabase CreateDatabase();

    protected TestDatabase Database { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Database = CreateDatabase();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Database.DisposeAsync();

    private Task<TestSilo> StartSiloAsync() => TestSilo.StartAsync(() => Task.Run(() => Database.OpenAsync()).GetAwaiter().GetResult());

    private static string Stream(string key) => GrainId.Create("tests.ballot-box", key).ToString();

    [Fact]
    public async Task Appended_events_and_their_outbox_rows_are_stored_together_and_replayed_from_the_latest_snapshot_after_a_restart()
    {
        await using (var silo = await StartSiloAsync())
        {
            var box = silo.Grains.GetGrain<IBallotBoxGrain>("七号院/v1");
            for (var i = 0; i < 7; i++) Assert.Equal(i + 1, await box.Cast("resident-" + i, yes: i % 3 != 0));
            Assert.Equal(19, await box.CastMany(12));
            Assert.Equal(new BallotTally(19, 4 + 6, 3 + 6), await box.Tally());
        }

        await using (var storage = await Database.OpenAsync())
        {
            var stream = await storage.Journal.ReadAsync(Stream("七号院/v1"));
            // Snapshots every 5 events, each stored with the first append at least 5 past the previous one (the state
            // before that append): version 5 here; the 12-event batch came 2 later. Activation replays only the tail.
            Assert.Equal((19L, 5L, 14), (stream!.Version, stream.SnapshotVersion, stream.Events.Count));
            Assert.Equal(Enumerable.Range(0, 7).Select(i => "resident-" + i), (await storage.Outbox.ReadUnsentAsync(100)).Select(r => r.Payload));
        }

        await using (var silo = await StartSiloAsync())
        {
            var box = silo.Grains.GetGrain<IBallotBoxGrain>("七号院/v1");
            Assert.Equal(new BallotTally(19, 10, 9), await box.Tally());
            Assert.Equal(20, await box.Cast("late", yes: true));
        }
        await using (var storage = await Database.OpenAsync())
        {
            var stream = await storage.Journal.ReadAsync(Stream("七号院/v1"));
            Assert.Equal((20L, 19L, 1), (stream!.Version, stream.SnapshotVersion, stream.Events.Count));
        }
    }

    [Fact]
    public async Task Handling_an_event_twice_appends_nothing_the_second_time()
    {
        await using var silo = await StartSiloAsync();
        var box = silo.Grains.GetGrain<IBallotBoxGrain>("v2");
        Assert.Equal(1, await box.Cast("resident-1", yes: true, eventId: "ballot-submitted-1"));

        await Assert.ThrowsAsync<InboxMarkAlreadyRecordedException>(() => box.Cast("resident-1", yes: true, eventId: "ballot-submitted-1"));

        Assert.Equal(new BallotTally(1, 1, 0), await box.Tally());
        await using var storage = await Database.OpenAsync();
        Assert.Equal(1, (await storage.Journal.ReadAsync(Stream("v2")))!.Version);
        Assert.Single(await storage.Outbox.ReadUnsentAsync(100));
    }

    [Fact]
    public async Task An_event_whose_inbox_mark_lands_after_the_check_appends_nothing_and_the_grain_reloads()
    {
        await using var silo = await StartSiloAsync();
        var box = silo.Grains.GetGrain<IBallotBoxGrain>("v3");
        await box.Cast("resident-1", yes: true);
        var before = await box.ActivationStamp();
        var storage = silo.Services.GetRequiredKeyedService<IStorageProvider>(TestStorage.Name);
        // A competing delivery records the mark after this one checked it: only the append itself can refuse.
        Assert.True(await storage.Inbox.TryRecordAsync(new InboxMark(TestStorage.Consumer, TestStorage.Source, "ballot-submitted-2")));

        await box.CastAfterCheck("resident-2", yes: false, "ballot-submitted-2");

        Assert.Equal(1, (await storage.Journal.ReadAsync(Stream("v3")))!.Version);
        Assert.NotEqual(before, await box.ActivationStamp());
        Assert.Equal(new BallotTally(1, 1, 0), await box.Tally());
        Assert.Equal(["resident-1"], (await storage.Outbox.ReadUnsentAsync(100)).Select(r => r.Payload));
    }
}

public sealed class SqliteJournalTests : JournalTests
{
    protected override TestDatabase CreateDatabase() => TestDatabase.Sqlite();
}

public sealed class PostgresJournalTests : JournalTests
{
    protected override TestDatabase CreateDatabase() => TestDatabase.Postgres();
}
