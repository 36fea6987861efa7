namespace Courtyard.Grains;

/// <summary>How a request may share its activation with other requests.</summary>
internal enum TurnKind : byte
{
    /// <summary>Runs alone (the default): one request at a time, FIFO.</summary>
    Exclusive,
    /// <summary>[ReadOnly]: runs alongside other read-only requests, never alongside an exclusive one.</summary>
    ReadOnly,
    /// <summary>[AlwaysInterleave] or a [Reentrant] class: runs alongside anything.</summary>
    Interleave,
}

/// <summary>
/// One turn of an activation: a grain call, a timer tick or a reminder tick. The item is also the node of the call
/// chain (<see cref="Parent"/>) used to detect a non-reentrant grain waiting for itself.
/// </summary>
internal abstract class WorkItem : IThreadPoolWorkItem
{
    private static readonly AsyncLocal<WorkItem?> current = new();

    /// <summary>The turn whose code is running on this logical flow (null outside grains).</summary>
    internal static WorkItem? Current => current.Value;

    internal Activation? Activation;
    internal WorkItem? Parent;
    internal ExecutionContext? Context;
    internal volatile bool IsRunning;

    internal abstract TurnKind Kind { get; }
    /// <summary>Whether this turn counts as activity that postpones idle collection (timer ticks do not, as in Orleans).</summary>
    internal virtual bool KeepsAlive => true;
    /// <summary>Whether a turn queued on an activation that goes away is handed to the next activation (timer ticks die with theirs).</summary>
    internal virtual bool ForwardOnDeactivation => true;
    internal abstract string Describe();

    /// <summary>Runs the turn on <paramref name="activation"/>; must call <see cref="Activation.CompleteTurn"/> exactly once.</summary>
    internal abstract void Start(Activation activation);

    /// <summary>Fails a turn that never ran (activation failure, deadlock).</summary>
    internal abstract void Fail(Exception error);

    internal static void EnterTurn(WorkItem item) => current.Value = item;

    /// <summary>True when some running turn of <paramref name="activation"/> is waiting, through this call chain, for this item.</summary>
    internal bool IsCalledFrom(Activation activation, out string chain)
    {
        for (var caller = Parent; caller is not null; caller = caller.Parent)
        {
            if (ReferenceEquals(caller.Activation, activation) && caller.IsRunning)
            {
                var parts = new List<string> { Describe() };
                for (var c = Parent; c is not null; c = c.Parent) parts.Add(c.Describe());
                parts.Reverse();
                chain = string.Join(" -> ", parts);
                return true;
            }
        }
        chain = "";
        return false;
    }

    void IThreadPoolWorkItem.Execute()
    {
        var activation = Activation!;
        if (Context is null) Start(activation);
        else ExecutionContext.Run(Context, static state => { var item = (WorkItem)state!; item.Start(item.Activation!); }, this);
    }
}
