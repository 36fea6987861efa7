using Courtyard.Storage;

namespace Courtyard.Events;

/// <summary>
/// What a handler knows about the event it handles. To make the effect exactly-once, pass <see cref="Mark"/> to the
/// state write that carries the effect (<c>state.WriteStateAsync(ctx.Mark)</c> in a grain, or
/// <see cref="StateWrite.Consumes"/>), then call <see cref="MarkConsumed"/>. A handler without a state effect does
/// nothing special: the dispatcher records the mark after it succeeds.
/// </summary>
public sealed class EventContext
{
    internal EventContext(CloudEvent cloudEvent, InboxMark mark, string topic, int deliveryAttempt, IServiceProvider services, CancellationToken cancellationToken)
    {
        Event = cloudEvent;
        Mark = mark;
        Topic = topic;
        DeliveryAttempt = deliveryAttempt;
        Services = services;
        CancellationToken = cancellationToken;
    }

    public CloudEvent Event { get; }

    /// <summary>(consumer, source, event id): record it in the same transaction as the handler's effect.</summary>
    public InboxMark Mark { get; }

    public string Consumer => Mark.Consumer;

    /// <summary>The courtyard the event is about (CloudEvents subject).</summary>
    public string CourtyardId => Event.Subject;

    public string Topic { get; }

    /// <summary>1 for the first delivery this process knows of.</summary>
    public int DeliveryAttempt { get; }

    public IServiceProvider Services { get; }

    public CancellationToken CancellationToken { get; }

    internal bool MarkRecordedByHandler { get; private set; }

    /// <summary>
    /// The handler's state write recorded <see cref="Mark"/> (committed, or answered AlreadyConsumed): the dispatcher
    /// skips its own inbox write.
    /// </summary>
    public void MarkConsumed() => MarkRecordedByHandler = true;
}
