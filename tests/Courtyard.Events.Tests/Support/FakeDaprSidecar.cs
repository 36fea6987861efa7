using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Events.Tests.Support;

/// <summary>
/// A test double of daprd's pub/sub, speaking what the Dapr SDK speaks (no daprd on these machines):
/// <list type="bullet">
/// <item>the app publishes over gRPC, <c>dapr.proto.runtime.v1.Dapr/PublishEvent</c> with the SDK's own messages
/// (Dapr.Protos has no server base for the Dapr service, so the one method is bound by hand), checking
/// <c>dapr-api-token</c>;</item>
/// <item>daprd delivers over HTTP: it reads the app's GET /dapr/subscribe, POSTs each CloudEvent
/// (application/cloudevents+json, with the app token) to the topic's route, retries on RETRY or an error status, and on
/// DROP or 404 forwards the event to the subscription's deadLetterTopic, delivered to that topic's own route.</item>
/// </list>
/// A published structured CloudEvent keeps its id, as daprd keeps it.
/// </summary>
public sealed class FakeDaprSidecar : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpClient toApp = new();
    private readonly ConcurrentDictionary<string, (string PubSub, string Topic, byte[] Body)> deliveredById = new();

    public sealed record PublishRequest(string PubSubName, string Topic, string DataContentType, string? ApiToken, string Data);
    public sealed record Delivery(string Id, string Topic, string Path, HttpStatusCode Status, string? AnsweredStatus);

    private FakeDaprSidecar(WebApplication app, string? daprApiToken, string? appApiToken)
    {
        this.app = app;
        DaprApiToken = daprApiToken;
        AppApiToken = appApiToken;
    }

    /// <summary>The gRPC endpoint (DAPR_GRPC_ENDPOINT) the app's DaprClient talks to.</summary>
    public Uri GrpcEndpoint { get; private set; } = null!;
    public Uri? AppAddress { get; set; }
    public string? DaprApiToken { get; }
    public string? AppApiToken { get; }
    /// <summary>The next this-many publishes fail with INTERNAL, as daprd answers when it cannot reach its broker.</summary>
    public int FailNextPublishes;
    /// <summary>Publishes whose data contains this text are refused with INVALID_ARGUMENT, every time.</summary>
    public string? RefuseDataContaining { get; set; }
    public int MaxAttempts { get; init; } = 5;
    public ConcurrentQueue<PublishRequest> Publishes { get; } = new();
    public ConcurrentQueue<Delivery> Deliveries { get; } = new();
    public JsonArray? Subscriptions { get; private set; }

    public static async Task<FakeDaprSidecar> StartAsync(string? daprApiToken = null, string? appApiToken = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<SidecarHolder>();
        var app = builder.Build();
        var sidecar = new FakeDaprSidecar(app, daprApiToken, appApiToken);
        app.Services.GetRequiredService<SidecarHolder>().Sidecar = sidecar;
        app.MapGrpcService<DaprPublishApi>();
        await app.StartAsync();
        sidecar.GrpcEndpoint = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return sidecar;
    }

    private sealed class SidecarHolder
    {
        public FakeDaprSidecar Sidecar { get; set; } = null!;
    }

    /// <summary>The one method of daprd's Dapr service the SDK's PublishByteEventAsync calls, bound by hand.</summary>
    [BindServiceMethod(typeof(DaprPublishApi), nameof(BindService))]
    private class DaprPublishApi(SidecarHolder holder)
    {
        private static readonly Method<PublishEventRequest, Empty> PublishEventMethod = new(MethodType.Unary, "dapr.proto.runtime.v1.Dapr", "PublishEvent",
            Marshallers.Create(r => r.ToByteArray(), PublishEventRequest.Parser.ParseFrom),
            Marshallers.Create(r => r.ToByteArray(), Empty.Parser.ParseFrom));

        public static void BindService(ServiceBinderBase binder, DaprPublishApi? service) =>
            binder.AddMethod(PublishEventMethod, service is null ? null : service.PublishEvent);

        public virtual Task<Empty> PublishEvent(PublishEventRequest request, ServerCallContext context) => holder.Sidecar.AcceptPublishAsync(request, context);
    }

    private Task<Empty> AcceptPublishAsync(PublishEventRequest request, ServerCallContext context)
    {
        var token = context.RequestHeaders.GetValue("dapr-api-token");
        var data = request.Data.ToStringUtf8();
        Publishes.Enqueue(new PublishRequest(request.PubsubName, request.Topic, request.DataContentType, token, data));
        if (DaprApiToken is not null && token != DaprApiToken)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "authentication error: api token mismatch"));
        }
        if (RefuseDataContaining is { } refused && data.Contains(refused, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"error when publish to topic {request.Topic}: message refused"));
        }
        if (Interlocked.Decrement(ref FailNextPublishes) >= 0)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"error when publish to topic {request.Topic} in pubsub {request.PubsubName}: broker unavailable"));
        }
        // daprd keeps a structured CloudEvent as sent (its id included) and adds its own attributes.
        var cloudEvent = JsonNode.Parse(data)!.AsObject();
        cloudEvent["topic"] = request.Topic;
        cloudEvent["pubsubname"] = request.PubsubName;
        var id = cloudEvent["id"]!.GetValue<string>();
        var body = Encoding.UTF8.GetBytes(cloudEvent.ToJsonString());
        deliveredById[id] = (request.PubsubName, request.Topic, body);
        _ = Task.Run(() => DeliverAsync(request.PubsubName, request.Topic, id, body));
        return Task.FromResult(new Empty());
    }

    /// <summary>What daprd does at start: GET /dapr/subscribe from the app.</summary>
    public async Task<HttpResponseMessage> ReadSubscriptionsAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(AppAddress!, "/dapr/subscribe"));
        var response = await toApp.SendAsync(request);
        if (response.IsSuccessStatusCode)
        {
            Subscriptions = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
        }
        return response;
    }

    /// <summary>Delivers the event with <paramref name="id"/> again, as Dapr may (at-least-once).</summary>
    public Task RedeliverAsync(string id)
    {
        var (pubsub, topic, body) = deliveredById[id];
        return DeliverAsync(pubsub, topic, id, body);
    }

    private async Task DeliverAsync(string pubsub, string topic, string id, byte[] body)
    {
        var subscription = Subscriptions?.Select(s => s!.AsObject())
            .FirstOrDefault(s => PubSubName(s) == pubsub && s["topic"]!.GetValue<string>() == topic);
        if (subscription is null)
        {
            return;   // nobody subscribed here
        }
        var path = Route(subscription);
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(AppAddress!, path)) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents+json");
            if (AppApiToken is not null)
            {
                request.Headers.Add("dapr-api-token", AppApiToken);
            }
            using var response = await toApp.SendAsync(request);
            string? status = null;
            var text = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode && text.Length > 0)
            {
                using var json = JsonDocument.Parse(text);
                status = json.RootElement.TryGetProperty("status", out var s) ? s.GetString() : null;
            }
            Deliveries.Enqueue(new Delivery(id, topic, path, response.StatusCode, status));
            if (response.StatusCode == HttpStatusCode.NotFound || status == "DROP")
            {
                break;
            }
            if (response.IsSuccessStatusCode && status is null or "SUCCESS")
            {
                return;
            }
            await Task.Delay(20);   // RETRY or an error: daprd's resiliency policy retries
        }
        if (subscription["deadLetterTopic"]?.GetValue<string>() is { } deadLetterTopic)
        {
            // daprd publishes the dropped event to the dead-letter topic, which is delivered like any other.
            var forwarded = JsonNode.Parse(body)!.AsObject();
            forwarded["topic"] = deadLetterTopic;
            await DeliverAsync(pubsub, deadLetterTopic, id, Encoding.UTF8.GetBytes(forwarded.ToJsonString()));
        }
    }

    // daprd reads the document's keys without regard to case (the SDK writes "pubsubName") and routes relative to the app's root.
    public static string PubSubName(JsonObject subscription) =>
        subscription.First(p => p.Key.Equals("pubsubname", StringComparison.OrdinalIgnoreCase)).Value!.GetValue<string>();

    private static string Route(JsonObject subscription)
    {
        var route = subscription["route"]?.GetValue<string>() is { Length: > 0 } single ? single : subscription["routes"]!["default"]!.GetValue<string>();
        return "/" + route.TrimStart('/');
    }

    public async ValueTask DisposeAsync()
    {
        toApp.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
