using Courtyard.Grains.Tests.Grains;
using Courtyard.Grains.Tests.Support;
using Courtyard.Testing;

namespace Courtyard.Grains.Tests;

public sealed class TimerAndReminderTests
{
    [Fact]
    public async Task Timer_ticks_never_overlap_each_other_or_calls_and_stop_when_disposed()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var grain = silo.Grains.GetGrain<ITimerGrain>("t");

        // The period (10 ms) is shorter than the callback (40 ms): overlapping ticks would show.
        await grain.Start(periodMs: 10, callbackDelayMs: 40);
        for (var i = 0; i < 10; i++) await grain.Busy(15);
        await Eventually.HoldsAsync(() => Volatile.Read(ref silo.Probe.TimerTicks) >= 8, TimeSpan.FromSeconds(10), "eight ticks");

        Assert.Equal(1, silo.Probe.Timer.Max);
        Assert.Equal(1, silo.Probe.Grain.Max);

        await grain.Stop();
        var ticks = Volatile.Read(ref silo.Probe.TimerTicks);
        await Task.Delay(200);
        Assert.InRange(Volatile.Read(ref silo.Probe.TimerTicks), ticks, ticks + 1);
    }

    [Fact]
    public async Task Timers_die_with_their_activation()
    {
        await using var silo = await TestSilo.StartAsync(new InMemoryStorage());
        var grain = silo.Grains.GetGrain<ITimerGrain>("t");
        await grain.Start(periodMs: 20, callbackDelayMs: 1);
        await Eventually.HoldsAsync(() => Volatile.Read(ref silo.Probe.TimerTicks) >= 3, TimeSpan.FromSeconds(10), "three ticks");

        await grain.Deactivate();
        await Eventually.HoldsAsync(() => silo.Runtime.ActivationCount == 0, TimeSpan.FromSeconds(5), "deactivated");
        var ticks = Volatile.Read(ref silo.Probe.TimerTicks);
        await Task.Delay(200);

        Assert.Equal(ticks, Volatile.Read(ref silo.Probe.TimerTicks));
        Assert.Equal(0, silo.Runtime.ActivationCount);
    }

    [Fact]
    public async Task A_one_shot_reminder_fires_once_then_is_removed()
    {
        var storage = new InMemoryStorage();
        await using var silo = await TestSilo.StartAsync(storage);
        var grain = silo.Grains.GetGrain<IReminderGrain>("vote-1");

        await grain.RemindIn("close-vote", dueMs: 300, periodMs: null);
        Assert.Equal(1, await grain.ReminderCount());
        await Eventually.HoldsAsync(() => !silo.Probe.Reminders.IsEmpty, TimeSpan.FromSeconds(5), "reminder fired");
        await Eventually.HoldsAsync(() => storage.ListAsync(nameof(ReminderGrain), "vote-1").Result.Count == 0, TimeSpan.FromSeconds(5), "reminder removed");
        await Task.Delay(300);

        var fired = Assert.Single(silo.Probe.Reminders);
        Assert.Equal(("vote-1", "close-vote"), (fired.Key, fired.Name));
        Assert.Null(fired.Status.Period);
        Assert.True(fired.Status.CurrentTickTime >= fired.Status.DueAt);
    }

    [Fact]
    public async Task A_reminder_wakes_a_grain_that_is_not_active()
    {
        var storage = new InMemoryStorage();
        await using var silo = await TestSilo.StartAsync(storage);
        await silo.Grains.GetGrain<IReminderGrain>("sleepy").RemindIn("wake", dueMs: 400, periodMs: null);
        await silo.Runtime.CollectIdleActivationsAsync(TimeSpan.Zero);
        Assert.Equal(0, silo.Runtime.ActivationCount);

        await Eventually.HoldsAsync(() => !silo.Probe.Reminders.IsEmpty, TimeSpan.FromSeconds(5), "reminder fired");
        Assert.Equal(1, silo.Runtime.ActivationCount);
    }

    [Fact]
    public async Task A_periodic_reminder_keeps_firing_and_stops_when_unregistered()
    {
        var storage = new InMemoryStorage();
        await using var silo = await TestSilo.StartAsync(storage);
        var grain = silo.Grains.GetGrain<IReminderGrain>("shifts");

        await grain.RemindIn("tick", dueMs: 100, periodMs: 200);
        await Eventually.HoldsAsync(() => silo.Probe.Reminders.Count >= 3, TimeSpan.FromSeconds(10), "three ticks");
        Assert.True(await grain.Forget("tick"));
        var count = silo.Probe.Reminders.Count;
        await Task.Delay(600);

        Assert.InRange(silo.Probe.Reminders.Count, count, count + 1);
        var ticks = silo.Probe.Reminders.Select(r => r.Status.DueAt).ToList();
        Assert.Equal(ticks.Distinct().Count(), ticks.Count);   // each due time fired once
        Assert.All(silo.Probe.Reminders, r => Assert.Equal(TimeSpan.FromMilliseconds(200), r.Status.Period));
    }

    [Fact]
    public async Task Two_runtimes_sharing_one_reminder_table_fire_each_tick_once()
    {
        var storage = new InMemoryStorage();
        await using var first = await TestSilo.StartAsync(storage);
        await using var second = await TestSilo.StartAsync(storage);

        for (var i = 0; i < 10; i++) await first.Grains.GetGrain<IReminderGrain>($"g{i}").RemindIn("once", dueMs: 200, periodMs: null);
        await Eventually.HoldsAsync(() => first.Probe.Reminders.Count + second.Probe.Reminders.Count >= 10, TimeSpan.FromSeconds(10), "ten reminders");
        await Task.Delay(500);

        Assert.Equal(10, first.Probe.Reminders.Count + second.Probe.Reminders.Count);
    }

    [Fact]
    public void The_next_periodic_due_time_is_strictly_in_the_future_and_skips_missed_ticks()
    {
        var due = new DateTimeOffset(2025, 1, 1, 8, 0, 0, TimeSpan.Zero);
        var period = TimeSpan.FromMinutes(10);

        Assert.Equal(due.AddMinutes(10), ReminderPoller.NextDue(due, period, due.AddSeconds(1)));
        Assert.Equal(due.AddMinutes(40), ReminderPoller.NextDue(due, period, due.AddMinutes(35)));
        Assert.Equal(due.AddMinutes(40), ReminderPoller.NextDue(due, period, due.AddMinutes(30)));
    }
}
