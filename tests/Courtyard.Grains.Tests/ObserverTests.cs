using Courtyard.Grains.Tests.Grains;
using Courtyard.Grains.Tests.Support;
using Courtyard.Testing;

namespace Courtyard.Grains.Tests;

public sealed class ObserverTests
{
    [Fact]
    public async Task Subscribers_receive_pushed_changes_and_are_removed_when_they_cancel()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var grain = silo.Grains.GetGrain<IWatchGrain>("tally");
        using var leave = new CancellationTokenSource();
        var stream = await grain.Watch(leave.Token);
        Assert.Equal(1, await grain.WatcherCount());

        var received = new List<long>();
        var reader = Task.Run(async () =>
        {
            await foreach (var tally in stream) received.Add(tally);
        });
        for (var i = 0; i < 3; i++)
        {
            await grain.Increment();
            await Eventually.HoldsAsync(() => received.Count == i + 1, TimeSpan.FromSeconds(5), $"change {i + 1} received");
        }
        Assert.Equal([1L, 2L, 3L], received);

        await leave.CancelAsync();
        await reader.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, await grain.WatcherCount());
    }

    [Fact]
    public async Task A_slow_subscriber_loses_the_oldest_changes_but_keeps_the_latest()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var grain = silo.Grains.GetGrain<IWatchGrain>("slow");
        using var leave = new CancellationTokenSource();
        var stream = await grain.Watch(leave.Token);

        for (var i = 0; i < 20; i++) await grain.Increment();   // capacity is 4

        var received = new List<long>();
        await foreach (var tally in stream)
        {
            received.Add(tally);
            if (tally == 20) break;
        }
        Assert.Equal([17L, 18L, 19L, 20L], received);
        Assert.Equal(0, await grain.WatcherCount());
    }

    [Fact]
    public async Task Subscriptions_end_when_the_activation_is_deactivated_and_keep_it_alive_until_then()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage(), o =>
        {
            o.CollectionAge = TimeSpan.FromMilliseconds(100);
            o.CollectionInterval = TimeSpan.FromMilliseconds(50);
        });
        var grain = silo.Grains.GetGrain<IWatchGrain>("kept");
        using var leave = new CancellationTokenSource();
        var stream = await grain.Watch(leave.Token);
        var reader = Task.Run(async () => { await foreach (var _ in stream) { } });

        await Task.Delay(400);
        Assert.Equal(1, silo.Runtime.ActivationCount);   // a watched grain is not idle
        Assert.False(reader.IsCompleted);

        await silo.Runtime.DeactivateAllAsync();
        await reader.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
