using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Courtyard.Events.Transports;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Events.Dapr;

/// <summary>The app side of Dapr pub/sub, on the HTTP/1.1 port.</summary>
public static class DaprEndpoints
{
    /// <summary>
    /// Maps GET /dapr/subscribe (the subscriptions of every consumer subscribed through <paramref name="transport"/>,
    /// default: the DaprTransport in DI) and POST {RoutePrefix}/{topic}, which hands the CloudEvent to every consumer of
    /// the topic and answers 200 {"status":"SUCCESS"|"RETRY"|"DROP"}.
    /// </summary>
    public static IEndpointRouteBuilder MapDaprEvents(this IEndpointRouteBuilder endpoints, DaprTransport? transport = null)
    {
        transport ??= endpoints.ServiceProvider.GetService<IEventTransport>() as DaprTransport
            ?? throw new InvalidOperationException("MapDaprEvents needs the Dapr transport: set Courtyard:Events:Transport=dapr (or pass a DaprTransport).");
        var options = transport.Options;
        var prefix = "/" + options.RoutePrefix.Trim('/');

        endpoints.MapGet("/dapr/subscribe", (HttpContext http) =>
        {
            if (!Authorized(http, options))
            {
                return Results.Unauthorized();
            }
            return Results.Json(Describe(transport, prefix));
        });

        endpoints.MapPost(prefix + "/{topic}", async (HttpContext http, string topic) =>
        {
            if (!Authorized(http, options))
            {
                return Results.Unauthorized();
            }
            var mediaType = http.Request.ContentType?.Split(';')[0].Trim();
            if (mediaType is not (CloudEvent.MediaType or CloudEvent.JsonContentType))
            {
                return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
            }
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            var consumers = transport.Subscriptions.Where(s => s.Topics.Contains(topic)).ToList();
            if (consumers.Count == 0)
            {
                return Results.NotFound();   // Dapr drops it: nobody here listens to that topic
            }
            var delivery = new IncomingEvent(topic, buffer.ToArray(), DeliveryAttempt: 0, Redelivered: false);
            var results = new List<DeliveryResult>(consumers.Count);
            foreach (var consumer in consumers)
            {
                try
                {
                    results.Add(await consumer.Handler(delivery, http.RequestAborted));
                }
                catch (Exception) when (!http.RequestAborted.IsCancellationRequested)
                {
                    results.Add(DeliveryResult.Retry);
                }
            }
            // Consumers that already succeeded answer the redelivery from their inbox.
            var status = results.Contains(DeliveryResult.Retry) ? "RETRY" : results.Contains(DeliveryResult.Drop) ? "DROP" : "SUCCESS";
            return Results.Json(new { status });
        });
        return endpoints;
    }

    private static bool Authorized(HttpContext http, DaprTransportOptions options)
    {
        if (string.IsNullOrEmpty(options.AppApiToken))
        {
            return true;
        }
        var presented = http.Request.Headers["dapr-api-token"].ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(options.AppApiToken));
    }

    /// <summary>The /dapr/subscribe answer: one entry per topic (a Dapr app has one subscription per topic).</summary>
    internal static List<Dictionary<string, object>> Describe(DaprTransport transport, string prefix)
    {
        var options = transport.Options;
        var topics = transport.Subscriptions.SelectMany(s => s.Topics).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var list = new List<Dictionary<string, object>>();
        foreach (var topic in topics)
        {
            var path = $"{prefix}/{topic}";
            var entry = new Dictionary<string, object>
            {
                ["pubsubname"] = options.PubSubName,
                ["topic"] = topic,
                ["routes"] = new Dictionary<string, object>
                {
                    ["rules"] = transport.EventTypesOf(topic)
                        .Select(type => new Dictionary<string, string> { ["match"] = $"event.type == {JsonSerializer.Serialize(type)}", ["path"] = path })
                        .ToList(),
                    // Other events on the topic are acknowledged there without running anything.
                    ["default"] = path,
                },
            };
            if (options.DeadLetterTopicSuffix is { Length: > 0 } suffix)
            {
                entry["deadLetterTopic"] = topic + suffix;
            }
            list.Add(entry);
        }
        return list;
    }
}
