using Courtyard.Storage;

namespace Courtyard.Grains;

/// <summary>
/// Base class of grain implementations. Constructed by the runtime (constructor injection, persistent states loaded
/// before <see cref="OnActivateAsync"/>); its methods run as turns (see README).
/// </summary>
public abstract class Grain
{
    private readonly Activation? activation;

    protected Grain()
    {
        activation = Activation.Constructing;
    }

    internal Activation Activation => activation
        ?? throw new InvalidOperationException($"{GetType().Name} was not created by the grain runtime; get it through IGrainFactory.");

    /// <summary>The grain's key (a Guid key in its "D" format).</summary>
    public string GrainKey => Activation.Key;

    public string GetPrimaryKeyString() => Activation.Key;

    public Guid GetPrimaryKey() => Guid.Parse(Activation.Key);

    public IGrainFactory GrainFactory => Activation.Runtime;

    /// <summary>Runs once per activation, after persistent state is loaded and before the first call. A failure fails the waiting calls.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Best effort (skipped when the process dies); never save state here.</summary>
    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// An in-memory timer: the callback runs as a turn of this grain after <paramref name="dueTime"/>, then again
    /// <paramref name="period"/> after each callback completes (never overlapping; <see cref="Timeout.InfiniteTimeSpan"/> = once).
    /// Ticks do not keep the activation alive; the timer dies with the activation. Dispose the result to stop it.
    /// </summary>
    protected IDisposable RegisterTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period)
        => GrainTimer.Start(Activation, callback, dueTime, period);

    /// <inheritdoc cref="RegisterTimer(Func{CancellationToken, Task}, TimeSpan, TimeSpan)"/>
    protected IDisposable RegisterTimer(Func<object?, Task> callback, object? state, TimeSpan dueTime, TimeSpan period)
        => GrainTimer.Start(Activation, _ => callback(state), dueTime, period);

    /// <summary>Registers (or moves) a durable periodic reminder: first due after <paramref name="dueTime"/>, then every <paramref name="period"/>.</summary>
    protected Task RegisterOrUpdateReminderAsync(string reminderName, TimeSpan dueTime, TimeSpan period)
    {
        if (period <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(period), "A periodic reminder needs a positive period.");
        return RegisterOrUpdateReminderAsync(reminderName, DateTimeOffset.UtcNow + dueTime, period);
    }

    /// <summary>Registers (or moves) a durable reminder due at <paramref name="dueAt"/>; one-shot when <paramref name="period"/> is null.</summary>
    protected Task RegisterOrUpdateReminderAsync(string reminderName, DateTimeOffset dueAt, TimeSpan? period = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(reminderName);
        if (period is { } p && p <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(period), "A periodic reminder needs a positive period.");
        if (this is not IRemindable)
            throw new InvalidOperationException($"{GetType().Name} registers a reminder but does not implement IRemindable.");
        var record = new ReminderRecord(Activation.Class.Name, Activation.Key, reminderName, ReminderTime.Normalize(dueAt), period);
        return Activation.Runtime.RequiredReminderStore.UpsertAsync(record);
    }

    /// <summary>Removes a durable reminder; false when there was none by that name.</summary>
    protected Task<bool> UnregisterReminderAsync(string reminderName)
        => Activation.Runtime.RequiredReminderStore.RemoveAsync(Activation.Class.Name, Activation.Key, reminderName);

    /// <summary>The durable reminders of this grain.</summary>
    protected async Task<IReadOnlyList<GrainReminder>> GetRemindersAsync()
    {
        var records = await Activation.Runtime.RequiredReminderStore.ListAsync(Activation.Class.Name, Activation.Key);
        return records.Select(r => new GrainReminder(r.Name, r.DueAt, r.Period)).ToList();
    }

    /// <summary>Deactivates this activation once its running calls end; calls queued meanwhile go to a fresh activation.</summary>
    protected void DeactivateOnIdle() => Activation.RequestDeactivation(DeactivationReason.DeactivateOnIdle);
}

internal static class ReminderTime
{
    // Whole milliseconds in UTC: every store keeps them exactly, so compare-and-set on DueAt is reliable.
    public static DateTimeOffset Normalize(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - utc.Ticks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
    }
}
