namespace Courtyard.Storage;

/// <summary>
/// What a grain's next state write commits together with its state, in the same transaction: the integration events
/// the change raised (outbox rows) and the inbox mark of the event it handles (exactly-once effects). Kept beside the
/// state and never serialized with it; the grain storage clears it only after the commit.
/// </summary>
public sealed class PendingEffects
{
    private readonly List<OutboxMessage> outbox = [];

    /// <summary>Events to append to the outbox with the next write, in the order they were raised.</summary>
    public IReadOnlyList<OutboxMessage> Outbox => outbox;

    /// <summary>The inbox mark the next write records; the write fails, writing nothing, if it was recorded before.</summary>
    public InboxMark? Consumes { get; private set; }

    public bool IsEmpty => outbox.Count == 0 && Consumes is null;

    public void Publish(OutboxMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        outbox.Add(message);
    }

    public void Consume(InboxMark mark)
    {
        ArgumentNullException.ThrowIfNull(mark);
        if (Consumes is not null && Consumes != mark)
            throw new InvalidOperationException($"One write consumes one event: {Consumes.EventId} is already pending, so {mark.EventId} cannot be added.");
        Consumes = mark;
    }

    /// <summary>Called by the grain storage once the write committed (or by a grain discarding a change it reloads).</summary>
    public void Clear()
    {
        outbox.Clear();
        Consumes = null;
    }

    /// <summary>What a write about to start carries; <see cref="ClearCommitted"/> later removes exactly that.</summary>
    internal (IReadOnlyList<OutboxMessage> Outbox, InboxMark? Consumes) Take() => (outbox.ToArray(), Consumes);

    /// <summary>
    /// Removes what a committed write carried, keeping effects raised while it was in flight (by an interleaved turn)
    /// for the next write.
    /// </summary>
    internal void ClearCommitted((IReadOnlyList<OutboxMessage> Outbox, InboxMark? Consumes) committed)
    {
        outbox.RemoveRange(0, Math.Min(committed.Outbox.Count, outbox.Count));
        if (Consumes == committed.Consumes) Consumes = null;
    }
}

/// <summary>
/// Implemented by grain state classes whose writes raise integration events or consume one:
/// <c>[field: NonSerialized] public PendingEffects Effects { get; } = new();</c> (no <c>[Id]</c>, so Orleans never
/// serializes it; <c>field: NonSerialized</c> tells Orleans' analyzer so). Also implemented by <see cref="IJournal{TState,TEvent}"/>.
/// </summary>
public interface IHasPendingEffects
{
    PendingEffects Effects { get; }
}
