using Courtyard.Storage;
using Microsoft.Extensions.Logging;

namespace Courtyard.Grains;

/// <summary>
/// One in-memory instance of a grain (class, key) in this process. It admits work items turn by turn: one exclusive
/// turn at a time in FIFO order, read-only turns together, interleaving turns alongside anything. The queue, timer list
/// and observer list are allocated only when needed, so an idle activation is a few hundred bytes plus the grain.
/// </summary>
internal sealed class Activation
{
    [ThreadStatic] internal static Activation? Constructing;

    private enum Status : byte { Created, Activating, Valid, Deactivating, Invalid }

    private Status status;
    private Queue<WorkItem>? waiting;
    private int exclusiveRunning;
    private int readOnlyRunning;
    private int interleavedRunning;
    private long lastActiveMs = Environment.TickCount64;
    private DeactivationReason? pendingDeactivation;
    private List<GrainTimer>? timers;
    private List<IGrainObserverSet>? observerSets;

    public Activation(GrainRuntime runtime, GrainClass grainClass, string key)
    {
        Runtime = runtime;
        Class = grainClass;
        Key = key;
    }

    public GrainRuntime Runtime { get; }
    public GrainClass Class { get; }
    public string Key { get; }
    public Grain? Instance { get; private set; }

    private int Running => exclusiveRunning + readOnlyRunning + interleavedRunning;

    /// <summary>Admits a work item: starts it now (on this thread), queues it, or hands it on when this activation is gone.</summary>
    public void Enqueue(WorkItem item)
    {
        item.Activation = this;
        bool start = false, activate = false, forward = false;
        DeadlockException? deadlock = null;
        lock (this)
        {
            if (status == Status.Invalid)
            {
                forward = true;
            }
            else if (status == Status.Valid && pendingDeactivation is null && CanStart(item.Kind)
                     && (item.Kind == TurnKind.Interleave || waiting is null || waiting.Count == 0))
            {
                Account(item, +1);
                start = true;
            }
            else if (item.IsCalledFrom(this, out var chain))
            {
                deadlock = new DeadlockException(
                    $"Deadlock: {Class.Name}({Key}) is busy with a call that waits for this one ({chain}). " +
                    "Mark the method [AlwaysInterleave]/[ReadOnly] or the grain class [Reentrant], or restructure the calls.");
            }
            else
            {
                if (status == Status.Created)
                {
                    status = Status.Activating;
                    activate = true;
                }
                item.Context = ExecutionContext.Capture();
                (waiting ??= new Queue<WorkItem>()).Enqueue(item);
            }
        }
        if (forward) Runtime.Forward(item);
        else if (deadlock is not null) item.Fail(deadlock);
        else if (start) item.Start(this);
        else if (activate) _ = ActivateAsync();
    }

    /// <summary>Called by every started work item when its turn ends.</summary>
    public void CompleteTurn(WorkItem item, Exception? error)
    {
        // A failed write leaves memory ahead of or behind storage: drop the activation so the next call reloads.
        if (error is InconsistentStateException) RequestDeactivation(DeactivationReason.WriteFailed);
        bool deactivate = false;
        lock (this)
        {
            Account(item, -1);
            if (item.KeepsAlive) lastActiveMs = Environment.TickCount64;
            if (pendingDeactivation is not null)
            {
                if (Running == 0 && status == Status.Valid)
                {
                    status = Status.Deactivating;
                    deactivate = true;
                }
            }
            else
            {
                StartReadyLocked();
            }
        }
        if (deactivate) _ = DeactivateAsync(pendingDeactivation!.Value);
    }

    /// <summary>Deactivates after the running turns end (DeactivateOnIdle, failed write, shutdown). Queued calls go to the next activation.</summary>
    public void RequestDeactivation(DeactivationReason reason)
    {
        bool deactivate = false;
        lock (this)
        {
            if (pendingDeactivation is not null || status is Status.Deactivating or Status.Invalid) return;
            pendingDeactivation = reason;
            if (status == Status.Valid && Running == 0)
            {
                status = Status.Deactivating;
                deactivate = true;
            }
        }
        if (deactivate) _ = DeactivateAsync(reason);
    }

    /// <summary>Starts deactivation when this activation has been idle for at least <paramref name="ageMs"/>.</summary>
    public Task? TryCollect(long nowMs, long ageMs)
    {
        lock (this)
        {
            if (status != Status.Valid || pendingDeactivation is not null || Running != 0 || waiting is { Count: > 0 }) return null;
            if (nowMs - lastActiveMs < ageMs || HasSubscribersLocked()) return null;
            pendingDeactivation = DeactivationReason.IdleCollected;
            status = Status.Deactivating;
        }
        return DeactivateAsync(DeactivationReason.IdleCollected);
    }

    public void AddTimer(GrainTimer timer)
    {
        lock (this)
        {
            if (status is Status.Deactivating or Status.Invalid)
                throw new InvalidOperationException($"{Class.Name}({Key}) is deactivating; it cannot register timers.");
            (timers ??= []).Add(timer);
        }
    }

    public void RemoveTimer(GrainTimer timer)
    {
        lock (this) timers?.Remove(timer);
    }

    public void AddObserverSet(IGrainObserverSet set)
    {
        lock (this)
        {
            observerSets ??= [];
            if (!observerSets.Contains(set)) observerSets.Add(set);
        }
    }

    private bool HasSubscribersLocked()
    {
        if (observerSets is null) return false;
        foreach (var set in observerSets)
            if (set.SubscriberCount > 0) return true;
        return false;
    }

    private bool CanStart(TurnKind kind) => kind switch
    {
        TurnKind.Exclusive => exclusiveRunning == 0 && readOnlyRunning == 0,
        TurnKind.ReadOnly => exclusiveRunning == 0,
        _ => true,
    };

    private void Account(WorkItem item, int delta)
    {
        switch (item.Kind)
        {
            case TurnKind.Exclusive: exclusiveRunning += delta; break;
            case TurnKind.ReadOnly: readOnlyRunning += delta; break;
            default: interleavedRunning += delta; break;
        }
        item.IsRunning = delta > 0;
    }

    // Starts queued items from the head while they may run; each on the thread pool (with its caller's context).
    private void StartReadyLocked(bool afterActivation = false)
    {
        if (waiting is null) return;
        while (waiting.TryPeek(out var next) && CanStart(next.Kind))
        {
            waiting.Dequeue();
            Account(next, +1);
            ThreadPool.UnsafeQueueUserWorkItem(next, preferLocal: false);
        }
        // Interleaving items queued during activation may pass a blocked queue head (later ones start on arrival).
        if (afterActivation && waiting.Count > 0)
        {
            var count = waiting.Count;
            for (var i = 0; i < count; i++)
            {
                var item = waiting.Dequeue();
                if (item.Kind == TurnKind.Interleave)
                {
                    Account(item, +1);
                    ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false);
                }
                else
                {
                    waiting.Enqueue(item);
                }
            }
        }
        if (waiting.Count == 0) waiting = null;
    }

    private async Task ActivateAsync()
    {
        var lifecycle = new LifecycleTurn(this, "OnActivateAsync") { IsRunning = true };
        WorkItem.EnterTurn(lifecycle);
        try
        {
            var states = new List<IStateLoader>();
            Constructing = this;
            Grain grain;
            try
            {
                grain = Class.Create(this, Runtime.Services, states);
            }
            finally
            {
                Constructing = null;
            }
            Instance = grain;
            foreach (var state in states) await state.ReadStateAsync();
            await grain.OnActivateAsync(CancellationToken.None);
        }
        catch (Exception error)
        {
            lifecycle.IsRunning = false;
            Queue<WorkItem>? failed;
            lock (this)
            {
                status = Status.Invalid;
                failed = waiting;
                waiting = null;
            }
            Class.Activations.TryRemove(new KeyValuePair<string, Activation>(Key, this));
            ReleaseResources();
            Runtime.Log.LogWarning(error, "Activation of {Grain}({Key}) failed", Class.Name, Key);
            // The calls that waited for this activation fail with its error; the next call tries again.
            if (failed is not null)
                foreach (var item in failed) item.Fail(error);
            return;
        }
        lifecycle.IsRunning = false;
        bool deactivate = false;
        lock (this)
        {
            status = Status.Valid;
            lastActiveMs = Environment.TickCount64;
            if (pendingDeactivation is not null && Running == 0)
            {
                status = Status.Deactivating;
                deactivate = true;
            }
            else
            {
                StartReadyLocked(afterActivation: true);
            }
        }
        Runtime.OnActivated();
        if (deactivate) await DeactivateAsync(pendingDeactivation!.Value);
    }

    private async Task DeactivateAsync(DeactivationReason reason)
    {
        StopTimersAndObservers();
        var grain = Instance;
        if (grain is not null)
        {
            var lifecycle = new LifecycleTurn(this, "OnDeactivateAsync") { IsRunning = true };
            WorkItem.EnterTurn(lifecycle);
            try
            {
                using var timeout = new CancellationTokenSource(Runtime.Options.DeactivationTimeout);
                await grain.OnDeactivateAsync(reason, timeout.Token).WaitAsync(timeout.Token);
            }
            catch (Exception error)
            {
                Runtime.Log.LogWarning(error, "OnDeactivateAsync of {Grain}({Key}) failed (ignored: it is best effort)", Class.Name, Key);
            }
            lifecycle.IsRunning = false;
        }
        Queue<WorkItem>? forward;
        lock (this)
        {
            status = Status.Invalid;
            forward = waiting;
            waiting = null;
        }
        Class.Activations.TryRemove(new KeyValuePair<string, Activation>(Key, this));
        ReleaseResources();
        Runtime.OnDeactivated();
        if (forward is not null)
            foreach (var item in forward) Runtime.Forward(item);
    }

    private void StopTimersAndObservers()
    {
        List<GrainTimer>? stoppedTimers;
        List<IGrainObserverSet>? sets;
        lock (this)
        {
            stoppedTimers = timers;
            sets = observerSets;
            timers = null;
            observerSets = null;
        }
        if (stoppedTimers is not null)
            foreach (var timer in stoppedTimers) timer.Stop();
        if (sets is not null)
            foreach (var set in sets) set.CompleteAll();
    }

    private void ReleaseResources()
    {
        StopTimersAndObservers();
        Instance = null;
    }

    /// <summary>Stands for activation/deactivation code in the call chain, so a grain calling itself from OnActivateAsync is detected.</summary>
    private sealed class LifecycleTurn : WorkItem
    {
        private readonly string phase;

        public LifecycleTurn(Activation activation, string phase)
        {
            Activation = activation;
            this.phase = phase;
        }

        internal override TurnKind Kind => TurnKind.Exclusive;
        internal override string Describe() => $"{Activation?.Class.Name}({Activation?.Key}).{phase}";
        internal override void Start(Activation activation) => throw new InvalidOperationException("A lifecycle turn is never queued.");
        internal override void Fail(Exception error) { }
    }
}
