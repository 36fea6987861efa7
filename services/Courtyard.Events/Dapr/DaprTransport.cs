using Courtyard.Events.Transports;
using Dapr.Client;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Courtyard.Events.Dapr;

public sealed class DaprTransportOptions
{
    /// <summary>The Dapr pub/sub component's name.</summary>
    public string PubSubName { get; set; } = "pubsub";

    /// <summary>Where the app receives events: {RoutePrefix}/{topic} (Courtyard.Events.Hosting maps the routes).</summary>
    public string RoutePrefix { get; set; } = "/dapr/events";

    /// <summary>The dead-letter topic Dapr forwards events to after the app answered DROP: {topic}{suffix}.</summary>
    public string DeadLetterTopicSuffix { get; set; } = ".dead-letter";
}

/// <summary>
/// Dapr pub/sub through the Dapr SDK. Publish: <see cref="DaprClient.PublishByteEventAsync"/> (gRPC to the sidecar) with
/// the whole CloudEvent as <c>application/cloudevents+json</c>, so Dapr keeps our id: a re-published row has the id it
/// had. Subscribe: Dapr pushes events to the app's routes (Dapr.AspNetCore's <c>MapSubscribeHandler</c> and
/// <c>WithTopic</c>, mapped by Courtyard.Events.Hosting), which hand them to <see cref="DeliverAsync"/>. Dapr never
/// de-duplicates: the inbox does.
/// </summary>
public sealed class DaprTransport(DaprClient dapr, DaprTransportOptions? options = null, ILogger<DaprTransport>? logger = null) : IEventTransport
{
    private readonly ILogger logger = (ILogger?)logger ?? NullLogger.Instance;
    private readonly Lock gate = new();
    private List<Subscription> subscriptions = [];

    public string Name => "dapr";

    public DaprTransportOptions Options { get; } = options ?? new DaprTransportOptions();

    /// <summary>The consumers subscribed in this process, read by the route mapping and the deliveries.</summary>
    public IReadOnlyList<Subscription> Subscriptions => subscriptions;

    /// <summary>Every topic some consumer here listens to.</summary>
    public IEnumerable<string> Topics => subscriptions.SelectMany(s => s.Topics).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

    public async Task<PublishResult> PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
    {
        for (var i = 0; i < events.Count; i++)
        {
            try
            {
                await dapr.PublishByteEventAsync(Options.PubSubName, events[i].Topic, events[i].Body, CloudEvent.MediaType, [], cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                // The SDK wraps what the sidecar said (status and detail) in a DaprException: keep the sidecar's words.
                var said = e as RpcException ?? e.InnerException as RpcException;
                return new PublishResult(i, said ?? e, Refused: IsRefusal(said));
            }
        }
        return PublishResult.All(events.Count);
    }

    /// <summary>
    /// The sidecar answered and said no to this event (bad request, not allowed, too large): not a sidecar or broker that
    /// cannot be reached. daprd reports a broker failure as INTERNAL, so that is not a refusal either.
    /// </summary>
    private static bool IsRefusal(RpcException? said) =>
        said?.StatusCode is
            StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.PermissionDenied or StatusCode.FailedPrecondition
            or StatusCode.ResourceExhausted or StatusCode.OutOfRange or StatusCode.Unimplemented;

    public Task<IAsyncDisposable> SubscribeAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            subscriptions = [.. subscriptions, subscription];
        }
        logger.LogDebug("Dapr subscription of {Consumer} to {Topics} registered; Dapr reads it from GET /dapr/subscribe.",
            subscription.Consumer, string.Join(", ", subscription.Topics));
        return Task.FromResult<IAsyncDisposable>(new Unsubscriber(this, subscription));
    }

    /// <summary>
    /// An event Dapr pushed to the route of <paramref name="topic"/>: every consumer of the topic here handles it. The
    /// answer Dapr understands: SUCCESS, RETRY (a consumer must retry; those that succeeded answer the redelivery from
    /// their inbox), or DROP (dead-lettered in our store; Dapr forwards it to the dead-letter topic).
    /// </summary>
    public async Task<DeliveryResult> DeliverAsync(string topic, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var delivery = new IncomingEvent(topic, body, DeliveryAttempt: 0, Redelivered: false);
        var results = new List<DeliveryResult>();
        foreach (var consumer in subscriptions.Where(s => s.Topics.Contains(topic)))
        {
            try
            {
                results.Add(await consumer.Handler(delivery, cancellationToken));
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Consumer {Consumer} failed on a Dapr delivery to {Topic}.", consumer.Consumer, topic);
                results.Add(DeliveryResult.Retry);
            }
        }
        return results.Contains(DeliveryResult.Retry) ? DeliveryResult.Retry
            : results.Contains(DeliveryResult.Drop) ? DeliveryResult.Drop
            : DeliveryResult.Success;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;   // the DaprClient belongs to DI

    private sealed class Unsubscriber(DaprTransport owner, Subscription subscription) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            lock (owner.gate)
            {
                owner.subscriptions = owner.subscriptions.Where(s => s != subscription).ToList();
            }
            return ValueTask.CompletedTask;
        }
    }
}
