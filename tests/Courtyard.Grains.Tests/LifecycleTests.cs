using System.Text.Json;
using Courtyard.Grains.Tests.Grains;
using Courtyard.Grains.Tests.Support;
using Courtyard.Testing;
using Courtyard.Storage;

namespace Courtyard.Grains.Tests;

public sealed class LifecycleTests
{
    [Fact]
    public async Task State_is_loaded_before_OnActivateAsync()
    {
        var storage = new InMemoryStorage();
        storage.Overwrite("lifecycle", "k", JsonSerializer.SerializeToUtf8Bytes(new CounterState { Count = 41 }));
        await using var silo = await TestSilo.StartAsync(storage);

        Assert.Equal(41, await silo.Grains.GetGrain<ILifecycleGrain>("k").CountSeenOnActivate());
    }

    [Fact]
    public async Task A_failed_activation_fails_the_call_and_the_next_call_activates_again()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var grain = silo.Grains.GetGrain<ILifecycleGrain>("flaky");
        silo.Probe.FailActivation = true;

        var failures = await Task.WhenAll(Enumerable.Range(0, 5).Select(async _ =>
            await Assert.ThrowsAsync<ApplicationException>(() => grain.CountSeenOnActivate())));
        Assert.All(failures, f => Assert.Equal("activation refused by the test", f.Message));
        Assert.Equal(0, silo.Runtime.ActivationCount);

        silo.Probe.FailActivation = false;
        Assert.Equal(0, await grain.CountSeenOnActivate());
        Assert.Equal(1, silo.Probe.Activations);
    }

    [Fact]
    public async Task A_failed_state_load_fails_the_call_and_a_later_call_succeeds()
    {
        var storage = new InMemoryStorage { FailReads = new IOException("database unavailable") };
        await using var silo = await TestSilo.StartAsync(storage);
        var grain = silo.Grains.GetGrain<ICounterGrain>("k");

        Assert.Equal("database unavailable", (await Assert.ThrowsAsync<IOException>(() => grain.Get())).Message);

        storage.FailReads = null;
        Assert.Equal(1, await grain.Increment());
    }

    [Fact]
    public async Task A_write_underneath_fails_the_next_write_with_InconsistentStateException_and_the_call_after_sees_fresh_state()
    {
        var storage = new InMemoryStorage();
        await using var silo = await TestSilo.StartAsync(storage);
        var grain = silo.Grains.GetGrain<ICounterGrain>("shared");
        Assert.Equal(1, await grain.Increment());

        storage.Overwrite(nameof(CounterGrain), "shared", JsonSerializer.SerializeToUtf8Bytes(new CounterState { Count = 100 }));

        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => grain.Increment());
        Assert.Equal(1, conflict.ExpectedVersion);
        Assert.Equal(2, conflict.StoredVersion);
        Assert.Equal(100, await grain.Get());
        Assert.Equal(101, await grain.Increment());
        Assert.Equal(3, await grain.GetVersion());
    }

    [Fact]
    public async Task Idle_activations_are_collected_and_their_memory_released()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage(), o =>
        {
            o.CollectionAge = TimeSpan.FromMilliseconds(300);
            o.CollectionInterval = TimeSpan.FromMilliseconds(100);
        });
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => silo.Grains.GetGrain<ICollectibleGrain>($"idle-{i}").Touch()));
        Assert.Equal(20, silo.Runtime.ActivationCount);

        await Eventually.HoldsAsync(() => silo.Runtime.ActivationCount == 0, TimeSpan.FromSeconds(10), "idle activations collected");
        Assert.Equal(20, silo.Probe.Deactivations);
        await Eventually.HoldsAsync(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return silo.Probe.Instances.All(w => !w.IsAlive);
        }, TimeSpan.FromSeconds(10), "collected grain instances are garbage collected");

        // A collected grain comes back on its next call.
        await silo.Grains.GetGrain<ICollectibleGrain>("idle-3").Touch();
        Assert.Equal(21, silo.Probe.Activations);
    }

    [Fact]
    public async Task A_busy_activation_is_not_collected()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage(), o =>
        {
            o.CollectionAge = TimeSpan.FromMilliseconds(1500);
            o.CollectionInterval = TimeSpan.FromMilliseconds(50);
        });
        var grain = silo.Grains.GetGrain<ICollectibleGrain>("busy");
        // Calls every 100 ms for longer than the collection age: each one postpones collection.
        for (var i = 0; i < 25; i++)
        {
            await grain.Touch();
            await Task.Delay(100);
        }
        Assert.Equal(1, silo.Probe.Activations);
        Assert.Equal(0, silo.Probe.Deactivations);
    }

    [Fact]
    public async Task DeactivateOnIdle_releases_the_activation_and_the_next_call_reloads_state()
    {
        var storage = new InMemoryStorage();
        await using var silo = await TestSilo.StartAsync(storage);
        var grain = silo.Grains.GetGrain<ICounterGrain>("d");
        await grain.Increment();
        await grain.IncrementAfter(1);   // in memory only: never written

        await grain.Deactivate();
        await Eventually.HoldsAsync(() => silo.Runtime.ActivationCount == 0, TimeSpan.FromSeconds(5), "deactivated");

        Assert.Equal(1, await grain.Get());
    }
}
