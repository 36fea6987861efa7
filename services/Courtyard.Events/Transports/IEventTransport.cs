namespace Courtyard.Events.Transports;

/// <summary>A CloudEvent on its way to a topic, serialized once (structured mode, UTF-8 JSON).</summary>
public sealed record OutgoingEvent(string Topic, CloudEvent Event, byte[] Body)
{
    public static OutgoingEvent Create(string topic, CloudEvent cloudEvent) => new(topic, cloudEvent, cloudEvent.ToJsonUtf8());
}

/// <summary>
/// How a publish went: the first <see cref="Accepted"/> events are durably with the transport (broker-confirmed,
/// sidecar-accepted, or settled by every in-process subscriber); the rest were not and must be published again.
/// <see cref="Refused"/>: the transport reached its broker or sidecar, which refused event [Accepted] itself (a message
/// too large, a topic not allowed) and will likely refuse it again; false when it could not be reached or did not
/// answer in time, which says nothing about the event. Only refusals count towards parking a row.
/// </summary>
public readonly record struct PublishResult(int Accepted, Exception? Error, bool Refused = false)
{
    public static PublishResult All(int count) => new(count, null);
}

/// <summary>One delivery of an event to a consumer.</summary>
/// <param name="DeliveryAttempt">1 for the first delivery; counted by the transport where it can (0 = unknown, e.g. Dapr).</param>
/// <param name="Redelivered">The broker delivered it before (e.g. a consumer died before acking).</param>
public sealed record IncomingEvent(string Topic, ReadOnlyMemory<byte> Body, int DeliveryAttempt, bool Redelivered);

/// <summary>What the consumer answers: the transport's ack / nack-and-redeliver / nack-to-dead-letter.</summary>
public enum DeliveryResult
{
    /// <summary>Handled (or a duplicate, or not for this consumer): ack.</summary>
    Success,
    /// <summary>Failed this time: redeliver later (after a backoff).</summary>
    Retry,
    /// <summary>Give up: do not redeliver (the broker's dead-letter exchange gets it where there is one).</summary>
    Drop,
}

public delegate Task<DeliveryResult> DeliveryHandler(IncomingEvent delivery, CancellationToken cancellationToken);

/// <summary>A consumer (one inbox, one queue per topic) and the topics it listens to.</summary>
public sealed record Subscription(string Consumer, IReadOnlyCollection<string> Topics, DeliveryHandler Handler)
{
    /// <summary>The event types the consumer handles, with their topics (for transports that route by type, like Dapr).</summary>
    public IReadOnlyCollection<(string Type, string Topic)> EventTypes { get; init; } = [];
}

/// <summary>
/// Publish CloudEvents to topics; subscribe consumers with ack/nack semantics. Delivery is at least once and
/// in publish order per courtyard while nothing fails; a consumer must de-duplicate (the dispatcher's inbox does).
/// </summary>
public interface IEventTransport : IAsyncDisposable
{
    /// <summary>A short name for logs and metrics ("inproc", "rabbitmq", "dapr").</summary>
    string Name { get; }

    /// <summary>
    /// Whether the transport can carry events now (readiness): a RabbitMQ connection is open. In-process always can; so
    /// does Dapr, whose sidecar is supervised beside the app and whose refusals the relay retries.
    /// </summary>
    bool IsConnected => true;

    /// <summary>
    /// <see cref="IsConnected"/> for readiness, connecting first if nothing has used the transport yet (a replica that
    /// neither consumes nor holds the relay lease would otherwise never connect, and never be ready).
    /// </summary>
    Task<bool> CheckConnectionAsync(CancellationToken cancellationToken) => Task.FromResult(IsConnected);

    /// <summary>
    /// Publishes <paramref name="events"/> in order. Transport failures are reported in the result, not thrown
    /// (only cancellation throws). Events after the first failure of a courtyard may or may not have gone out.
    /// </summary>
    Task<PublishResult> PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken);

    /// <summary>Starts delivering to <paramref name="subscription"/>; dispose the result to stop.</summary>
    Task<IAsyncDisposable> SubscribeAsync(Subscription subscription, CancellationToken cancellationToken);
}
