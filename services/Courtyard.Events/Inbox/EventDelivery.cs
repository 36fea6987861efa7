using Courtyard.Storage;

namespace Courtyard.Events;

/// <summary>
/// One delivery of an event to a handler, and the inbox marks that make its effects exactly-once.
/// <para>A handler whose effect is a state write passes <see cref="TakeMark"/> to that write: to the grain, which calls
/// <c>State.Effects.Consume(mark)</c> before <c>WriteStateAsync()</c>, or as <see cref="StateWrite.Consumes"/>. The mark
/// and the effect then commit in one transaction, and a second delivery's write of the same mark commits nothing.
/// A handler with several effects (two grains) gives each its own mark, <see cref="TakeMarkFor"/>.</para>
/// <para>Taking a mark is a promise the dispatcher checks: once a handler declared with <c>Handle</c> returns, it must
/// have taken a mark, and every mark it took must be in the inbox, or the delivery fails loudly (retried, then
/// dead-lettered, with the reason). So a grain that decides an event changes nothing still consumes the mark and
/// writes. A handler without a stored effect is declared with <c>HandleWithoutStoredEffect</c>, takes no mark, and the
/// dispatcher records the event as handled once it returns.</para>
/// </summary>
public sealed class EventDelivery
{
    private readonly Lock gate = new();
    private readonly List<InboxMark> taken = [];
    private readonly InboxMark mark;

    internal EventDelivery(CloudEvent cloudEvent, string consumer, string topic, int deliveryAttempt, IServiceProvider services,
        CancellationToken cancellationToken)
    {
        Event = cloudEvent;
        mark = new InboxMark(consumer, cloudEvent.Source, cloudEvent.Id);
        Topic = topic;
        DeliveryAttempt = deliveryAttempt;
        Services = services;
        CancellationToken = cancellationToken;
    }

    public CloudEvent Event { get; }

    /// <summary>The courtyard the event is about (CloudEvents <c>subject</c>).</summary>
    public string CourtyardId => Event.Subject;

    public string Consumer => mark.Consumer;

    public string Topic { get; }

    /// <summary>1 for the first delivery this consumer knows of.</summary>
    public int DeliveryAttempt { get; }

    public IServiceProvider Services { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// The mark of this event, for the one state write that carries the handler's effect; taking it promises that the
    /// write commits it.
    /// </summary>
    public InboxMark TakeMark() => Take(mark);

    /// <summary>
    /// A mark of its own for each effect of a handler with several (one per grain it writes): <c>TakeMarkFor("rulebook")</c>,
    /// <c>TakeMarkFor("notices")</c>. A redelivery after some of them committed repeats only the others.
    /// </summary>
    public InboxMark TakeMarkFor(string effect)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(effect);
        return Take(mark with { EventId = mark.EventId + "#" + effect });
    }

    /// <summary>The event's own mark (what the duplicate check looks up), without taking it.</summary>
    public InboxMark EventMark => mark;

    internal IReadOnlyList<InboxMark> TakenMarks
    {
        get
        {
            lock (gate)
            {
                return [.. taken];
            }
        }
    }

    private InboxMark Take(InboxMark taking)
    {
        lock (gate)
        {
            if (!taken.Contains(taking))
            {
                taken.Add(taking);
            }
        }
        return taking;
    }
}
