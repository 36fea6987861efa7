using Microsoft.Extensions.Logging;

namespace Courtyard.Grains;

/// <summary>
/// A grain timer. The same object is the tick's work item: it is queued at most once at a time, and the next tick is
/// scheduled only after the callback's turn ends, so ticks never overlap.
/// </summary>
internal sealed class GrainTimer : WorkItem, IDisposable
{
    private readonly Func<CancellationToken, Task> callback;
    private readonly TimeSpan period;
    private readonly Timer timer;
    private readonly CancellationTokenSource stopped = new();
    private readonly Activation owner;

    private GrainTimer(Activation owner, Func<CancellationToken, Task> callback, TimeSpan period)
    {
        this.owner = owner;
        this.callback = callback;
        this.period = period;
        // Ticks must not inherit the registering turn's execution context (its call chain, its Activity).
        using (ExecutionContext.SuppressFlow())
            timer = new Timer(static state => ((GrainTimer)state!).OnDue(), this, Timeout.Infinite, Timeout.Infinite);
    }

    public static GrainTimer Start(Activation owner, Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var grainTimer = new GrainTimer(owner, callback, period);
        owner.AddTimer(grainTimer);
        grainTimer.timer.Change(dueTime, Timeout.InfiniteTimeSpan);
        return grainTimer;
    }

    internal override TurnKind Kind => TurnKind.Exclusive;
    internal override bool KeepsAlive => false;
    internal override bool ForwardOnDeactivation => false;
    internal override string Describe() => $"{owner.Class.Name}({owner.Key}).timer";
    internal override void Fail(Exception error) => owner.Runtime.Log.LogWarning(error, "Timer tick of {Grain}({Key}) could not run", owner.Class.Name, owner.Key);
    internal override void Start(Activation activation) => _ = RunAsync(activation);

    public void Dispose()
    {
        Stop();
        owner.RemoveTimer(this);
    }

    /// <summary>Stops the timer (also when its activation goes away).</summary>
    public void Stop()
    {
        if (stopped.IsCancellationRequested) return;
        stopped.Cancel();
        timer.Dispose();
    }

    private void OnDue()
    {
        if (!stopped.IsCancellationRequested) owner.Enqueue(this);
    }

    private async Task RunAsync(Activation activation)
    {
        EnterTurn(this);
        Exception? error = null;
        if (!stopped.IsCancellationRequested)
        {
            try
            {
                await callback(stopped.Token);
            }
            catch (Exception e)
            {
                error = e;
                if (!stopped.IsCancellationRequested)
                    activation.Runtime.Log.LogWarning(e, "Timer callback of {Grain}({Key}) failed", activation.Class.Name, activation.Key);
            }
        }
        activation.CompleteTurn(this, error);
        if (stopped.IsCancellationRequested || period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero) return;
        try
        {
            timer.Change(period, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Stopped while the callback ran.
        }
    }
}
