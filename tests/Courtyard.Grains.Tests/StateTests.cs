using System.Text;
using System.Text.Json;
using Courtyard.Grains.Tests.Grains;
using Courtyard.Grains.Tests.Support;
using Courtyard.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Grains.Tests;

/// <summary>A storage the state tests run against: how to register it, and direct access to check what it holds.</summary>
public sealed class StorageUnderTest(string name, Action<IServiceCollection> register, IStateStore state,
    Func<Task<IReadOnlyList<OutboxRecord>>> readOutbox, Func<ValueTask> dispose) : IAsyncDisposable
{
    public string Name => name;
    public Action<IServiceCollection> Register => register;
    public IStateStore State => state;
    public Task<IReadOnlyList<OutboxRecord>> ReadOutboxAsync() => readOutbox();
    public ValueTask DisposeAsync() => dispose();
    public override string ToString() => name;
}

/// <summary>The grain-state behaviour every storage must give; subclasses pick the storage (in-memory, SQLite, PostgreSQL).</summary>
public abstract class StateTests
{
    protected abstract Task<StorageUnderTest> CreateStorageAsync();

    private static async Task<long> ReadCountAsync(IStateStore store, string stateType, string key)
    {
        var stored = await store.ReadAsync(stateType, key) ?? throw new Xunit.Sdk.XunitException($"no row {stateType}/{key}");
        return JsonSerializer.Deserialize<CounterState>(stored.Data)!.Count;
    }

    [Fact]
    public async Task A_thousand_concurrent_increments_of_one_grain_are_all_persisted()
    {
        await using var storage = await CreateStorageAsync();
        await using var silo = await TestSilo.StartAsync(storage.Register);
        var grain = silo.Grains.GetGrain<ICounterGrain>("courtyard-1");

        await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(() => grain.Increment())));

        Assert.Equal(1, silo.Probe.Grain.Max);
        Assert.Equal(1000, await ReadCountAsync(storage.State, nameof(CounterGrain), "courtyard-1"));
        Assert.Equal(1000, (await storage.State.ReadAsync(nameof(CounterGrain), "courtyard-1"))!.Version);
    }

    [Fact]
    public async Task A_conflicting_write_from_elsewhere_surfaces_as_InconsistentStateException_then_the_grain_reloads()
    {
        await using var storage = await CreateStorageAsync();
        await using var silo = await TestSilo.StartAsync(storage.Register);
        var grain = silo.Grains.GetGrain<ICounterGrain>("shared");
        await grain.Increment();
        await grain.Increment();

        // Another replica writes version 3.
        await storage.State.WriteAsync(new StateWrite
        {
            StateType = nameof(CounterGrain), Key = "shared", ExpectedVersion = 2,
            Data = JsonSerializer.SerializeToUtf8Bytes(new CounterState { Count = 50 }),
        });

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.Increment());
        Assert.Equal(51, await grain.Increment());
        Assert.Equal(51, await ReadCountAsync(storage.State, nameof(CounterGrain), "shared"));
    }

    [Fact]
    public async Task Published_events_commit_with_the_state_write()
    {
        await using var storage = await CreateStorageAsync();
        await using var silo = await TestSilo.StartAsync(storage.Register);
        var grain = silo.Grains.GetGrain<IOutboxGrain>("courtyard-9");

        var id = await grain.Raise("停车位公示");

        var row = Assert.Single(await storage.ReadOutboxAsync());
        Assert.Equal(id, row.Id);
        Assert.Equal(("courtyard-9", "notices", "courtyard.test.notice_posted.v1"), (row.Partition, row.Topic, row.EventType));
        Assert.Equal("停车位公示#1", await grain.Text());
    }

    [Fact]
    public async Task A_write_consuming_an_event_twice_applies_once_and_discards_the_second_mutation()
    {
        await using var storage = await CreateStorageAsync();
        await using var silo = await TestSilo.StartAsync(storage.Register);
        var grain = silo.Grains.GetGrain<IOutboxGrain>("consumer");

        Assert.Equal(WriteOutcome.Committed, await grain.Consume("event-1", "first"));
        Assert.Equal(WriteOutcome.AlreadyConsumed, await grain.Consume("event-1", "again"));

        Assert.Equal("first#1", await grain.Text());
        Assert.Single(await storage.ReadOutboxAsync());
    }

    [Fact]
    public async Task State_is_stored_as_readable_utf8_json_and_protobuf_states_round_trip()
    {
        await using var storage = await CreateStorageAsync();
        await using (var silo = await TestSilo.StartAsync(storage.Register))
        {
            await silo.Grains.GetGrain<ICounterGrain>("json").IncrementAndNote("三号楼电梯维修");
            await silo.Grains.GetGrain<IProtoGrain>("proto").Set("title", "楼道清洁");
        }

        var json = Encoding.UTF8.GetString((await storage.State.ReadAsync(nameof(CounterGrain), "json"))!.Data);
        Assert.Contains("三号楼电梯维修", json);
        Assert.Contains("楼道清洁", Encoding.UTF8.GetString((await storage.State.ReadAsync(nameof(ProtoGrain), "proto"))!.Data));

        await using var restarted = await TestSilo.StartAsync(storage.Register);
        Assert.Equal("楼道清洁", await restarted.Grains.GetGrain<IProtoGrain>("proto").Get("title"));
    }
}

public sealed class InMemoryStateTests : StateTests
{
    protected override Task<StorageUnderTest> CreateStorageAsync()
    {
        var storage = new InMemoryStorage();
        return Task.FromResult(new StorageUnderTest("in-memory",
            services => services.AddSingleton<IStateStore>(storage).AddSingleton<IReminderStore>(storage),
            storage, () => Task.FromResult(storage.Outbox), () => ValueTask.CompletedTask));
    }
}
