using Courtyard.Storage.Postgres;
using Courtyard.Storage.Tests.Grains;
using Courtyard.Storage.Tests.Support;
using Courtyard.Testing;
using Npgsql;
using Orleans.Runtime;

namespace Courtyard.Storage.Tests;

/// <summary>
/// PostgreSQL commits a grain's write but the reply is lost on the way back (a proxy drops it and closes the
/// connection): the outcome is unknown to the silo, and neither a state nor a journal may act as if it knew.
/// </summary>
public sealed class PostgresLostReplyTests : IAsyncLifetime
{
    private string database = null!;
    private CuttingProxy proxy = null!;

    public async Task InitializeAsync()
    {
        database = await TestPostgres.CreateDatabaseAsync();
        var target = new NpgsqlConnectionStringBuilder(database);
        proxy = new CuttingProxy(target.Host!, target.Port);
    }

    public async Task DisposeAsync()
    {
        await proxy.DisposeAsync();
        await TestPostgres.DropDatabaseAsync(database);
    }

    // No reminders in these silos: their table refreshes would share the proxy with the write whose reply is cut.
    private Task<TestSilo> StartSiloAsync() => TestSilo.StartAsync(
        () => Task.Run(() => PostgresStorageProvider.OpenAsync(new NpgsqlConnectionStringBuilder(database) { Port = proxy.Port }.ConnectionString))
            .GetAwaiter().GetResult(),
        reminders: false);

    [Fact]
    public async Task A_grain_whose_write_outcome_is_unknown_reports_it_and_is_dropped_so_it_never_goes_on_ahead_of_storage()
    {
        await using var silo = await StartSiloAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>("k");
        await counter.Increment();
        var before = await counter.ActivationStamp();

        proxy.CutNextServerReply();
        await Assert.ThrowsAsync<StorageOutcomeUnknownException>(() => counter.Increment(raise: true));

        Assert.Equal(1, proxy.Cuts);
        Assert.NotEqual(before, await counter.ActivationStamp());
        // The write did commit; the new activation reads it instead of guessing, and goes on from there.
        Assert.Equal(2, await counter.Get());
        Assert.Equal(3, await counter.Increment(raise: true));
        await using var storage = await PostgresStorageProvider.OpenAsync(database);
        Assert.Equal(["k:2", "k:3"], (await storage.Outbox.ReadUnsentAsync(100)).Select(r => r.Payload));
    }

    [Fact]
    public async Task A_journal_append_whose_outcome_is_unknown_is_resolved_by_its_batch_id_and_stored_exactly_once()
    {
        await using var silo = await StartSiloAsync();
        var box = silo.Grains.GetGrain<IBallotBoxGrain>("v1");
        Assert.Equal(1, await box.Cast("resident-1", yes: true));

        proxy.CutNextServerReply();
        Assert.Equal(2, await box.Cast("resident-2", yes: false));

        Assert.Equal(1, proxy.Cuts);
        Assert.Equal(3, await box.Cast("resident-3", yes: true));
        await using var storage = await PostgresStorageProvider.OpenAsync(database);
        var stream = await storage.Journal.ReadAsync(GrainId.Create("tests.ballot-box", "v1").ToString());
        Assert.Equal((3L, 3), (stream!.Version, stream.Events.Count));
        Assert.Equal(["resident-1", "resident-2", "resident-3"], (await storage.Outbox.ReadUnsentAsync(100)).Select(r => r.Payload));
        Assert.Equal(new BallotTally(3, 2, 1), await box.Tally());
    }
}
