using Courtyard.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Courtyard.Grains;

/// <summary>Runs idle collection and the durable reminder poller; deactivates every activation on shutdown.</summary>
internal sealed class GrainsHostedService(GrainRuntime runtime) : IHostedService
{
    private readonly CancellationTokenSource stopping = new();
    private Task collector = Task.CompletedTask;
    private Task reminderPoller = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        collector = Task.Run(() => CollectLoopAsync(stopping.Token), CancellationToken.None);
        if (runtime.ReminderStore is { } store)
            reminderPoller = Task.Run(() => new ReminderPoller(runtime, store).RunAsync(stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await stopping.CancelAsync();
        await Task.WhenAll(collector, reminderPoller).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(runtime.Options.DeactivationTimeout);
        await runtime.DeactivateAllAsync(deadline.Token);
    }

    private async Task CollectLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(runtime.Options.CollectionInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    var collected = await runtime.CollectIdleActivationsAsync();
                    if (collected > 0) runtime.Log.LogDebug("Collected {Count} idle activations", collected);
                }
                catch (Exception e)
                {
                    runtime.Log.LogError(e, "Idle collection failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>
/// Fires due durable reminders at least once. Each due row is claimed by moving its DueAt to now + lease with a
/// compare-and-set (so one process of several fires it); after the grain's ReceiveReminder returns, a periodic reminder
/// moves to its next due time strictly in the future (missed ticks are skipped) and a one-shot one is removed. If the
/// process dies or the tick fails, the row fires again when the lease expires.
/// </summary>
internal sealed class ReminderPoller(GrainRuntime runtime, IReminderStore store)
{
    private readonly GrainsOptions options = runtime.Options;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.ReminderPollInterval);
        try
        {
            do
            {
                try
                {
                    await PollOnceAsync(cancellationToken);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    runtime.Log.LogError(e, "Reminder poll failed");
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var due = await store.ReadDueAsync(DateTimeOffset.UtcNow, options.ReminderBatchSize, cancellationToken);
        if (due.Count == 0) return;
        await Task.WhenAll(due.Select(reminder => FireAsync(reminder, cancellationToken)));
    }

    private async Task FireAsync(ReminderRecord reminder, CancellationToken cancellationToken)
    {
        var firedAt = DateTimeOffset.UtcNow;
        var lease = ReminderTime.Normalize(firedAt + options.ReminderLease);
        if (!await store.TryRescheduleAsync(reminder, lease, cancellationToken)) return;   // another process claimed it
        var claimed = reminder with { DueAt = lease };
        if (!runtime.TryGetClass(reminder.GrainType, out var grainClass))
        {
            runtime.Log.LogWarning("Reminder {Name} is for unknown grain type {GrainType}; retried after the lease", reminder.Name, reminder.GrainType);
            return;
        }
        try
        {
            await runtime.DeliverReminderAsync(grainClass, reminder.Key, reminder.Name, new TickStatus(reminder.DueAt, reminder.Period, firedAt));
        }
        catch (Exception e)
        {
            runtime.Log.LogWarning(e, "Reminder {Name} of {Grain}({Key}) failed; it fires again after the lease", reminder.Name, reminder.GrainType, reminder.Key);
            return;
        }
        if (reminder.Period is { } period && period > TimeSpan.Zero)
        {
            // If the grain re-registered the reminder meanwhile, DueAt is no longer the lease and this does nothing.
            await store.TryRescheduleAsync(claimed, NextDue(reminder.DueAt, period, DateTimeOffset.UtcNow), CancellationToken.None);
            return;
        }
        // Compare-and-delete: a one-shot reminder the grain renewed during the tick survives.
        await store.TryRemoveAsync(claimed, CancellationToken.None);
    }

    internal static DateTimeOffset NextDue(DateTimeOffset dueAt, TimeSpan period, DateTimeOffset now)
    {
        var next = dueAt + period;
        if (next <= now)
        {
            var missed = (now - dueAt).Ticks / period.Ticks;
            next = dueAt + TimeSpan.FromTicks(period.Ticks * (missed + 1));
        }
        while (next <= now) next += period;
        return ReminderTime.Normalize(next);
    }
}
