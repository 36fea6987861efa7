using Courtyard.Events.Dapr;
using Courtyard.Events.Transports;
using Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Hosting;

public static class EventBusEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps what the event buses serve: the EventAdmin gRPC service, and with the Dapr transport Dapr's subscription
    /// endpoints (on the HTTP/1.1 port Dapr calls): <c>UseCloudEvents</c> with the CloudEvent's attributes forwarded as
    /// headers, <c>MapSubscribeHandler</c> for GET /dapr/subscribe, and per topic a route <c>.WithTopic(...)</c> naming
    /// its dead-letter topic, which has a route of its own. The routes require the "Dapr" policy (the app token) when Dapr is given one.
    /// <paramref name="admin"/> adds conventions to EventAdmin's endpoints (ServiceDefaults: who may call it).
    /// </summary>
    public static WebApplication MapEventBus(this WebApplication app, Action<GrpcServiceEndpointConventionBuilder>? admin = null)
    {
        var adminEndpoints = app.MapGrpcService<EventAdminService>();
        admin?.Invoke(adminEndpoints);
        if (app.Services.GetRequiredService<IEventTransport>() is DaprTransport dapr)
        {
            app.MapDaprSubscriptions(dapr);
        }
        return app;
    }

    /// <summary>Dapr's side of the subscriptions for the consumers of <paramref name="dapr"/> (see <see cref="MapEventBus"/>).</summary>
    public static WebApplication MapDaprSubscriptions(this WebApplication app, DaprTransport dapr)
    {
        app.UseCloudEvents(new CloudEventsMiddlewareOptions { ForwardCloudEventPropertiesAsHeaders = true });
        app.MapSubscribeHandler();
        var buses = app.Services.GetRequiredService<EventBusRegistry>().Buses;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Courtyard.Events.Dapr");
        var prefix = "/" + dapr.Options.RoutePrefix.Trim('/');
        var checkToken = EventBusServiceCollectionExtensions.AppApiToken(app.Configuration) is not null;
        // Dapr reads the subscriptions once, at its start: every topic a declared handler listens to.
        var topics = buses.SelectMany(b => b.Topics).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var topic in topics)
        {
            var deadLetterTopic = topic + dapr.Options.DeadLetterTopicSuffix;
            app.MapPost($"{prefix}/{topic}", async (HttpContext http) =>
            {
                var cloudEvent = await ReadForwardedCloudEventAsync(http);
                if (cloudEvent is null)
                {
                    return Results.Json(new { status = "DROP" });   // not a CloudEvent: it never will be
                }
                var result = await dapr.DeliverAsync(topic, cloudEvent.ToJsonUtf8(), http.RequestAborted);
                return Results.Json(new { status = result switch { DeliveryResult.Success => "SUCCESS", DeliveryResult.Drop => "DROP", _ => "RETRY" } });
            }).WithTopic(new TopicOptions { PubsubName = dapr.Options.PubSubName, Name = topic, DeadLetterTopic = deadLetterTopic })
              .RequireDaprToken(checkToken);
            // What Dapr forwards after a DROP is already a dead letter in the consumer's database (kept once, there):
            // acknowledged here so it does not pile up in the broker.
            app.MapPost($"{prefix}/{deadLetterTopic}", (HttpContext http) =>
            {
                logger.LogInformation("Dapr forwarded {Id} to {Topic}; it is kept in the consumer's dead letters.",
                    http.Request.Headers["Cloudevent.id"].ToString(), deadLetterTopic);
                return Results.Json(new { status = "SUCCESS" });
            }).WithTopic(new TopicOptions { PubsubName = dapr.Options.PubSubName, Name = deadLetterTopic })
              .RequireDaprToken(checkToken);
        }
        return app;
    }

    private static RouteHandlerBuilder RequireDaprToken(this RouteHandlerBuilder route, bool checkToken) =>
        checkToken ? route.RequireAuthorization("Dapr") : route;

    /// <summary>The CloudEvent UseCloudEvents unwrapped: data as the body, attributes as Cloudevent.* headers.</summary>
    private static async Task<CloudEvent?> ReadForwardedCloudEventAsync(HttpContext http)
    {
        string? Header(string name) => http.Request.Headers["Cloudevent." + name] is { Count: > 0 } value ? value.ToString() : null;
        using var reader = new StreamReader(http.Request.Body);
        var data = await reader.ReadToEndAsync(http.RequestAborted);
        if (Header("id") is not { } id || Header("source") is not { } source || Header("type") is not { } type || data.Length == 0)
        {
            return null;
        }
        return new CloudEvent
        {
            Id = id,
            Source = source,
            Type = type,
            Subject = Header("subject") ?? "",
            Time = DateTimeOffset.TryParse(Header("time"), System.Globalization.CultureInfo.InvariantCulture, out var time) ? time : default,
            Data = data,
            TraceParent = Header("traceparent"),
        };
    }
}
