using System.Diagnostics;
using System.Text.Json;
using Courtyard.Grains.Tests.Grains;
using Courtyard.Grains.Tests.Support;

namespace Courtyard.Grains.Tests;

public sealed class TurnTests
{
    [Fact]
    public async Task A_thousand_concurrent_calls_to_one_grain_run_one_at_a_time_and_lose_no_update()
    {
        var storage = new InMemoryStorage();
        await using var silo = await TestSilo.StartAsync(storage);
        var grain = silo.Grains.GetGrain<ICounterGrain>("courtyard-42");

        var results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(() => grain.Increment())));

        Assert.Equal(1, silo.Probe.Grain.Max);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), results.Order());
        var stored = storage.Get(nameof(CounterGrain), "courtyard-42")!;
        Assert.Equal(1000, JsonSerializer.Deserialize<CounterState>(stored.Data)!.Count);
        Assert.Equal(1000, stored.Version);
    }

    [Fact]
    public async Task Calls_to_a_thousand_grains_run_in_parallel()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var clock = Stopwatch.StartNew();

        await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => silo.Grains.GetGrain<ICounterGrain>($"c{i}").IncrementAfter(100)));

        // Serially this is 1000 x 100 ms = 100 s.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.True(silo.Probe.Grain.Max > 100, $"max concurrency across grains was {silo.Probe.Grain.Max}");
        Assert.Equal(1000, silo.Runtime.ActivationCount);
    }

    [Fact]
    public async Task Read_only_calls_overlap_each_other_but_never_a_write()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var grain = silo.Grains.GetGrain<IReadWriteGrain>("rw");

        await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => grain.Read(100)));
        Assert.True(silo.Probe.Readers.Max > 1, $"read-only calls did not overlap (max {silo.Probe.Readers.Max})");

        var mixed = Enumerable.Range(0, 60).Select(i => i % 4 == 0 ? grain.Write(15) : grain.Read(15)).ToArray();
        await Task.WhenAll(mixed);
        Assert.Equal(0, silo.Probe.ReadWriteOverlaps);
        Assert.Equal(1, silo.Probe.Writers.Max);
    }

    [Fact]
    public async Task Calls_from_one_caller_run_in_the_order_they_were_made()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var grain = silo.Grains.GetGrain<IOrderGrain>("fifo");

        await Task.WhenAll(Enumerable.Range(0, 500).Select(grain.Append).ToArray());

        Assert.Equal(Enumerable.Range(0, 500), await grain.Values());
    }

    [Fact]
    public async Task An_always_interleave_call_runs_while_an_exclusive_call_is_blocked()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var grain = silo.Grains.GetGrain<IChainGrain>("interleave");

        var blocked = grain.Block();
        Assert.Equal("interleaved", await grain.Interleaved().WaitAsync(TimeSpan.FromSeconds(5)));
        var ping = grain.Ping();
        await Task.Delay(100);
        Assert.False(ping.IsCompleted, "an exclusive call ran while another exclusive call was in its turn");

        silo.Probe.Gate.SetResult();
        Assert.Equal("unblocked", await blocked);
        await ping;
    }

    [Fact]
    public async Task A_non_reentrant_grain_calling_itself_fails_fast_with_a_deadlock_error()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var clock = Stopwatch.StartNew();

        var direct = await Assert.ThrowsAsync<DeadlockException>(() => silo.Grains.GetGrain<IChainGrain>("a").CallSelf());
        var roundTrip = await Assert.ThrowsAsync<DeadlockException>(() => silo.Grains.GetGrain<IChainGrain>("a").CallThrough("b"));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Contains("ChainGrain(a).CallSelf -> ChainGrain(a).Ping", direct.Message);
        Assert.Contains("ChainGrain(a).CallThrough -> ChainGrain(b).CallBack -> ChainGrain(a).Ping", roundTrip.Message);
        // Opt-ins make the same shapes legal.
        await silo.Grains.GetGrain<IChainGrain>("a").CallSelfInterleaved();
        Assert.Equal(5, await silo.Grains.GetGrain<IReentrantGrain>("r").Depth(5));
        // The grain is still usable afterwards.
        await silo.Grains.GetGrain<IChainGrain>("a").Ping();
    }

    [Fact]
    public async Task A_call_that_takes_longer_than_the_call_timeout_fails_with_TimeoutException()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage(), o => o.CallTimeout = TimeSpan.FromMilliseconds(300));
        var grain = silo.Grains.GetGrain<IChainGrain>("slow");

        var error = await Assert.ThrowsAsync<TimeoutException>(() => grain.Block());
        Assert.Contains("ChainGrain(slow).Block", error.Message);

        silo.Probe.Gate.SetResult();
        await grain.Ping();
    }

    [Fact]
    public async Task Exceptions_reach_the_caller_with_their_own_type()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var grain = silo.Grains.GetGrain<IFaultGrain>("f");

        Assert.Equal("async", (await Assert.ThrowsAsync<ArgumentException>(() => grain.ThrowAsync("async"))).Message);
        Assert.Equal("sync", (await Assert.ThrowsAsync<KeyNotFoundException>(() => grain.ThrowSync("sync"))).Message);
        Assert.Equal("vt", (await Assert.ThrowsAsync<FormatException>(async () => await grain.ThrowFromValueTask("vt"))).Message);
    }

    [Fact]
    public async Task Guid_keyed_grains_know_their_key()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var key = Guid.NewGuid();

        Assert.Equal(key, await silo.Grains.GetGrain<IGuidGrain>(key).Key());
        Assert.Equal("院落-7", await silo.Grains.GetGrain<ILifecycleGrain>("院落-7").Key());
    }

    [Fact]
    public async Task Unregistered_interfaces_fail_with_a_clear_error()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var error = Assert.Throws<InvalidOperationException>(() => silo.Grains.GetGrain<IUnregisteredGrain>("x"));
        Assert.Contains("IUnregisteredGrain is not registered", error.Message);
    }

    public interface IUnregisteredGrain : IGrainWithStringKey
    {
        Task Nothing();
    }
}
