using Courtyard.Storage.Tests.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;
using Orleans.Storage;

namespace Courtyard.Storage.Tests;

/// <summary>CourtyardGrainStorage through a real silo: [PersistentState] grains on SQLite and on PostgreSQL.</summary>
public abstract class GrainStorageTests : IAsyncLifetime
{
    protected abstract TestDatabase CreateDatabase();

    protected TestDatabase Database { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Database = CreateDatabase();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Database.DisposeAsync();

    private Task<TestSilo> StartSiloAsync(StorageOptions? options = null) =>
        TestSilo.StartAsync(() => Task.Run(() => Database.OpenAsync(options)).GetAwaiter().GetResult());

    private async Task<IReadOnlyList<OutboxRecord>> OutboxAsync()
    {
        await using var storage = await Database.OpenAsync();
        return await storage.Outbox.ReadUnsentAsync(10_000);
    }

    [Fact]
    public async Task State_survives_a_restart_serialized_by_Orleans_and_a_reloaded_state_has_empty_pending_effects()
    {
        await using (var silo = await StartSiloAsync())
        {
            var counter = silo.Grains.GetGrain<ICounterGrain>("七号院");
            Assert.True(await counter.EffectsInitialized());
            Assert.Equal(1, await counter.Increment());
            Assert.Equal(2, await counter.Increment());
            Assert.Equal("2", await counter.ETag());
        }

        await using (var silo = await StartSiloAsync())
        {
            var counter = silo.Grains.GetGrain<ICounterGrain>("七号院");
            Assert.Equal(2, await counter.Get());
            Assert.Equal("2", await counter.ETag());
            Assert.True(await counter.EffectsInitialized(), "a deserialized state must come with its (empty) pending effects");
            Assert.Equal(3, await counter.Increment(raise: true));
        }
        await using var storage = await Database.OpenAsync();
        var stored = await storage.State.ReadAsync("counter", GrainId.Create("tests.counter", "七号院").ToString());
        Assert.Equal(3, stored!.Version);
    }

    [Fact]
    public async Task A_raised_event_commits_with_the_state_and_leaves_the_pending_effects_only_after_the_commit()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var silo = await StartSiloAsync(new StorageOptions
        {
            BeforeCommitCompletes = () =>
            {
                entered.TrySetResult();
                return gate.Task;
            },
        });
        var counter = silo.Grains.GetGrain<ICounterGrain>("k");

        var call = counter.Increment(raise: true);
        try
        {
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(200);

            // Item 14, through a grain: while the transaction has not committed, the caller has no answer...
            Assert.False(call.IsCompleted, "the grain call was answered before its write committed");
            // ...and the event is still pending on the state: it is cleared only once committed.
            Assert.Equal(1, await counter.PendingOutbox());
        }
        finally
        {
            gate.TrySetResult();
        }
        Assert.Equal(1, await call);
        Assert.Equal(0, await counter.PendingOutbox());
        var row = Assert.Single(await OutboxAsync());
        Assert.Equal(("k", "k:1"), (row.CourtyardId, row.Payload));
    }

    [Fact]
    public async Task A_version_conflict_raises_Orleans_InconsistentStateException_and_the_next_call_reloads_the_stored_state()
    {
        await using var silo = await StartSiloAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>("k");
        await counter.Increment();
        var before = await counter.ActivationStamp();
        // Another writer (a frozen replica that came back, say) moves the stored state on to version 2, count 41.
        var storage = silo.Services.GetRequiredKeyedService<IStorageProvider>(TestStorage.Name);
        var serializer = silo.Services.GetRequiredService<Orleans.Serialization.Serializer>();
        await storage.State.WriteAsync(new StateWrite
        {
            StateType = "counter", Key = GrainId.Create("tests.counter", "k").ToString(), ExpectedVersion = 1,
            Data = serializer.SerializeToArray(new CounterState { Count = 41 }),
        });

        await Assert.ThrowsAsync<InconsistentStateException>(() => counter.Increment(raise: true));

        Assert.NotEqual(before, await counter.ActivationStamp());
        Assert.Equal(41, await counter.Get());
        Assert.Equal(42, await counter.Increment());
        Assert.Empty(await OutboxAsync());
    }

    [Fact]
    public async Task Handling_an_event_twice_throws_InboxMarkAlreadyRecorded_writes_nothing_and_the_grain_reloads()
    {
        await using var silo = await StartSiloAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>("k");
        Assert.Equal(1, await counter.Handle("event-1"));
        var before = await counter.ActivationStamp();

        var duplicate = await Assert.ThrowsAsync<InboxMarkAlreadyRecordedException>(() => counter.Handle("event-1"));

        Assert.Equal(("tests", "councils", "event-1"), (duplicate.Consumer, duplicate.EventSource, duplicate.EventId));
        Assert.NotEqual(before, await counter.ActivationStamp());
        Assert.Equal(1, await counter.Get());
        Assert.Equal(["handled event-1"], (await OutboxAsync()).Select(r => r.Payload));
        Assert.Equal(2, await counter.Handle("event-2"));
    }

    [Fact]
    public async Task Clearing_a_state_keeps_its_version_moving_so_the_next_write_continues_from_the_tombstone()
    {
        await using var silo = await StartSiloAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>("k");
        await counter.Increment();
        await counter.Increment();

        await counter.Clear();

        Assert.Equal("3", await counter.ETag());
        Assert.Equal(0, await counter.Get());
        Assert.Equal(1, await counter.Increment());
        Assert.Equal("4", await counter.ETag());
    }

    [Fact]
    public async Task Many_grains_written_concurrently_through_the_silo_are_all_stored()
    {
        await using (var silo = await StartSiloAsync())
        {
            await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
            {
                var counter = silo.Grains.GetGrain<ICounterGrain>("k" + i);
                for (var n = 0; n < 5; n++) await counter.Increment(raise: i % 2 == 0);
            }));
        }
        await using (var silo = await StartSiloAsync())
        {
            var counts = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => silo.Grains.GetGrain<ICounterGrain>("k" + i).Get()));
            Assert.All(counts, count => Assert.Equal(5, count));
        }
        Assert.Equal(500, (await OutboxAsync()).Count);
    }
}

public sealed class SqliteGrainStorageTests : GrainStorageTests
{
    protected override TestDatabase CreateDatabase() => TestDatabase.Sqlite();
}

public sealed class PostgresGrainStorageTests : GrainStorageTests
{
    protected override TestDatabase CreateDatabase() => TestDatabase.Postgres();
}
