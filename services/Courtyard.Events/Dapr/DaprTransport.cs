using System.Net;
using System.Net.Http.Headers;
using Courtyard.Events.Transports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Courtyard.Events.Dapr;

public sealed class DaprTransportOptions
{
    /// <summary>The Dapr pub/sub component's name.</summary>
    public string PubSubName { get; set; } = "pubsub";

    /// <summary>The sidecar's HTTP endpoint; default http://localhost:{DAPR_HTTP_PORT:-3500}.</summary>
    public Uri? SidecarAddress { get; set; }

    /// <summary>Sent as dapr-api-token on publishes; default DAPR_API_TOKEN.</summary>
    public string? DaprApiToken { get; set; } = Environment.GetEnvironmentVariable("DAPR_API_TOKEN");

    /// <summary>Required in dapr-api-token on Dapr's calls to the app (401 otherwise); default APP_API_TOKEN. Null = not checked.</summary>
    public string? AppApiToken { get; set; } = Environment.GetEnvironmentVariable("APP_API_TOKEN");

    /// <summary>Where the app receives events: {RoutePrefix}/{topic}.</summary>
    public string RoutePrefix { get; set; } = "/dapr/events";

    /// <summary>Dead-letter topic Dapr forwards undeliverable events to: {topic}{DeadLetterTopicSuffix}; null = none.</summary>
    public string? DeadLetterTopicSuffix { get; set; } = ".dead-letter";

    internal Uri ResolveSidecarAddress() => SidecarAddress
        ?? new Uri($"http://localhost:{(Environment.GetEnvironmentVariable("DAPR_HTTP_PORT") is { Length: > 0 } port ? port : "3500")}/");
}

/// <summary>
/// Dapr's HTTP sidecar protocol. Publish: POST /v1.0/publish/{pubsub}/{topic} with the whole CloudEvent
/// (application/cloudevents+json) and metadata.cloudevent.id/type so the id survives re-publishes; 204 = accepted.
/// Subscribe: the app serves GET /dapr/subscribe and the routes (<see cref="DaprEndpoints.MapDaprEvents"/>); Dapr
/// pushes events there and retries on RETRY or a non-2xx answer. Dapr never de-duplicates: the inbox does.
/// </summary>
public sealed class DaprTransport : IEventTransport
{
    private readonly HttpClient http;
    private readonly bool ownsHttp;
    private readonly ILogger logger;
    private readonly Lock gate = new();
    private List<Subscription> subscriptions = [];

    public DaprTransport(DaprTransportOptions? options = null, HttpClient? httpClient = null, ILogger<DaprTransport>? logger = null)
    {
        Options = options ?? new DaprTransportOptions();
        ownsHttp = httpClient is null;
        http = httpClient ?? new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        http.BaseAddress ??= Options.ResolveSidecarAddress();
        this.logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public string Name => "dapr";

    public DaprTransportOptions Options { get; }

    /// <summary>The subscriptions the app serves (read by the /dapr/subscribe endpoint and the routes).</summary>
    public IReadOnlyList<Subscription> Subscriptions => subscriptions;

    internal IEnumerable<string> EventTypesOf(string topic) => subscriptions
        .SelectMany(s => s.EventTypes).Where(e => e.Topic == topic).Select(e => e.Type).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

    public async Task<PublishResult> PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
    {
        for (var i = 0; i < events.Count; i++)
        {
            try
            {
                await PublishOneAsync(events[i], cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                return new PublishResult(i, e);
            }
        }
        return PublishResult.All(events.Count);
    }

    private async Task PublishOneAsync(OutgoingEvent outgoing, CancellationToken cancellationToken)
    {
        var path = $"v1.0/publish/{Uri.EscapeDataString(Options.PubSubName)}/{Uri.EscapeDataString(outgoing.Topic)}" +
                   $"?metadata.cloudevent.id={Uri.EscapeDataString(outgoing.Event.Id)}" +
                   $"&metadata.cloudevent.type={Uri.EscapeDataString(outgoing.Event.Type)}";
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(outgoing.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(CloudEvent.MediaType);
        if (!string.IsNullOrEmpty(Options.DaprApiToken))
        {
            request.Headers.Add("dapr-api-token", Options.DaprApiToken);
        }
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.NoContent && !response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"Dapr refused the publish of {outgoing.Event.Id} to {outgoing.Topic}: {(int)response.StatusCode} {body}", null, response.StatusCode);
        }
    }

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

    public ValueTask DisposeAsync()
    {
        if (ownsHttp)
        {
            http.Dispose();
        }
        return ValueTask.CompletedTask;
    }

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
