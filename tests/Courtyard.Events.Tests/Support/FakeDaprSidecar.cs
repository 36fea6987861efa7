using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Events.Tests.Support;

/// <summary>
/// A test double of daprd's pub/sub, following its documented HTTP protocol: accepts publishes on
/// POST /v1.0/publish/{pubsub}/{topic} (204), reads the app's GET /dapr/subscribe, POSTs each CloudEvent
/// (application/cloudevents+json) to the matching route, retries on RETRY or a non-2xx answer, drops on DROP or 404
/// (forwarding to the deadLetterTopic when the subscription names one), and can redeliver an id it delivered before.
/// </summary>
public sealed partial class FakeDaprSidecar : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpClient toApp = new();
    private readonly ConcurrentDictionary<string, byte[]> deliveredById = new();

    public sealed record PublishRequest(string Path, string Query, string? ContentType, string? ApiToken, string Body);
    public sealed record Delivery(string Id, string Path, HttpStatusCode Status, string? AnsweredStatus);

    private FakeDaprSidecar(WebApplication app)
    {
        this.app = app;
    }

    public Uri Address { get; private set; } = null!;
    public Uri? AppAddress { get; set; }
    public string? DaprApiToken { get; init; }
    public string? AppApiToken { get; init; }
    /// <summary>The next this-many publishes are answered 500 (a sidecar that cannot reach its broker).</summary>
    public int FailNextPublishes;
    public int MaxAttempts { get; init; } = 5;
    public ConcurrentQueue<PublishRequest> Publishes { get; } = new();
    public ConcurrentQueue<Delivery> Deliveries { get; } = new();
    /// <summary>(deadLetterTopic, event id) of what Dapr gave up on.</summary>
    public ConcurrentQueue<(string Topic, string Id)> DeadLettered { get; } = new();
    public JsonArray? Subscriptions { get; private set; }

    public static async Task<FakeDaprSidecar> StartAsync(string? daprApiToken = null, string? appApiToken = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var sidecar = new FakeDaprSidecar(app) { DaprApiToken = daprApiToken, AppApiToken = appApiToken };
        app.MapPost("/v1.0/publish/{pubsub}/{topic}", sidecar.AcceptPublishAsync);
        await app.StartAsync();
        sidecar.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        return sidecar;
    }

    private async Task<IResult> AcceptPublishAsync(HttpContext http, string pubsub, string topic)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var token = http.Request.Headers["dapr-api-token"].FirstOrDefault();
        Publishes.Enqueue(new PublishRequest(http.Request.Path, http.Request.QueryString.Value ?? "", http.Request.ContentType, token, body));
        if (DaprApiToken is not null && token != DaprApiToken)
        {
            return Results.Unauthorized();
        }
        if (Interlocked.Decrement(ref FailNextPublishes) >= 0)
        {
            return Results.Problem("broker unavailable", statusCode: 500);
        }
        // daprd keeps a structured CloudEvent as sent and adds its own attributes.
        var cloudEvent = JsonNode.Parse(body)!.AsObject();
        cloudEvent["topic"] = topic;
        cloudEvent["pubsubname"] = pubsub;
        var id = http.Request.Query["metadata.cloudevent.id"].FirstOrDefault() ?? cloudEvent["id"]!.GetValue<string>();
        var bytes = Encoding.UTF8.GetBytes(cloudEvent.ToJsonString());
        deliveredById[id] = bytes;
        _ = Task.Run(() => DeliverAsync(pubsub, topic, id, bytes));
        return Results.NoContent();
    }

    /// <summary>What daprd does at start: GET /dapr/subscribe from the app.</summary>
    public async Task<HttpResponseMessage> ReadSubscriptionsAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(AppAddress!, "/dapr/subscribe"));
        AddAppToken(request);
        var response = await toApp.SendAsync(request);
        if (response.IsSuccessStatusCode)
        {
            Subscriptions = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
        }
        return response;
    }

    /// <summary>Delivers the event with <paramref name="id"/> again, as Dapr may (at-least-once).</summary>
    public Task RedeliverAsync(string id, string pubsub, string topic) => DeliverAsync(pubsub, topic, id, deliveredById[id]);

    private async Task DeliverAsync(string pubsub, string topic, string id, byte[] body)
    {
        var subscription = Subscriptions?.Select(s => s!.AsObject())
            .FirstOrDefault(s => s["pubsubname"]!.GetValue<string>() == pubsub && s["topic"]!.GetValue<string>() == topic);
        if (subscription is null)
        {
            return;   // nobody subscribed here
        }
        var path = Route(subscription, JsonNode.Parse(body)!["type"]!.GetValue<string>());
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(AppAddress!, path)) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents+json");
            AddAppToken(request);
            using var response = await toApp.SendAsync(request);
            string? status = null;
            if (response.IsSuccessStatusCode && response.Content.Headers.ContentLength != 0)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                status = json.RootElement.TryGetProperty("status", out var s) ? s.GetString() : null;
            }
            Deliveries.Enqueue(new Delivery(id, path, response.StatusCode, status));
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
            DeadLettered.Enqueue((deadLetterTopic, id));
        }
    }

    private static string Route(JsonObject subscription, string eventType)
    {
        var routes = subscription["routes"]!.AsObject();
        foreach (var rule in routes["rules"]?.AsArray() ?? [])
        {
            var match = MatchType().Match(rule!["match"]!.GetValue<string>());
            if (match.Success && match.Groups[1].Value == eventType)
            {
                return rule["path"]!.GetValue<string>();
            }
        }
        return routes["default"]!.GetValue<string>();
    }

    // The only CEL form our app emits: event.type == "x".
    [GeneratedRegex("^event\\.type == \"([^\"]+)\"$")]
    private static partial Regex MatchType();

    private void AddAppToken(HttpRequestMessage request)
    {
        if (AppApiToken is not null)
        {
            request.Headers.Add("dapr-api-token", AppApiToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        toApp.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
