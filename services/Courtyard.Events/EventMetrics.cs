using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Courtyard.Events;

/// <summary>
/// Meter "Courtyard.Events" and ActivitySource "Courtyard.Events". Counters are tagged with the service (source)
/// or the consumer; the outbox gauges report every relay running in the process.
/// </summary>
public static class EventMetrics
{
    public const string Name = "Courtyard.Events";

    internal static readonly ActivitySource ActivitySource = new(Name);
    private static readonly Meter Meter = new(Name);
    private static readonly ConcurrentDictionary<Outbox.OutboxRelay, byte> Relays = new();

    internal static readonly Counter<long> Published = Meter.CreateCounter<long>(
        "courtyard.events.published", "{event}", "Outbox rows accepted by the transport.");
    internal static readonly Counter<long> PublishFailures = Meter.CreateCounter<long>(
        "courtyard.events.publish_failures", "{event}", "Publishes that failed and will be retried after a backoff.");
    internal static readonly Counter<long> Unrouted = Meter.CreateCounter<long>(
        "courtyard.events.unrouted", "{event}", "Events the broker accepted but no queue was bound for (nobody subscribed to the topic yet): dropped.");
    internal static readonly Counter<long> Parked = Meter.CreateCounter<long>(
        "courtyard.events.parked", "{event}", "Outbox rows parked after the transport refused them MaxPublishAttempts times (alert on any).");
    internal static readonly Counter<long> Handled = Meter.CreateCounter<long>(
        "courtyard.events.handled", "{event}", "Events whose handler succeeded.");
    internal static readonly Counter<long> Duplicates = Meter.CreateCounter<long>(
        "courtyard.events.duplicates", "{event}", "Deliveries answered from the inbox without running the handler.");
    internal static readonly Counter<long> Redeliveries = Meter.CreateCounter<long>(
        "courtyard.events.redeliveries", "{event}", "Deliveries of an event after the first (handler failed, or consumer died before acking).");
    internal static readonly Counter<long> DeadLetters = Meter.CreateCounter<long>(
        "courtyard.events.dead_letters", "{event}", "Events a consumer gave up on.");

    static EventMetrics()
    {
        Meter.CreateObservableGauge("courtyard.events.outbox.lag", ObserveLag, "{event}", "Outbox rows not yet published.");
        Meter.CreateObservableGauge("courtyard.events.outbox.oldest_age", ObserveOldestAge, "s", "Age of the oldest unpublished outbox row.");
        Meter.CreateObservableGauge("courtyard.events.outbox.parked_rows", ObserveParked, "{event}",
            "Outbox rows parked and waiting for an operator (EventAdmin ReleaseParkedEvent / DiscardParkedEvent); alert when above 0.");
    }

    internal static void Register(Outbox.OutboxRelay relay) => Relays.TryAdd(relay, 0);

    internal static void Unregister(Outbox.OutboxRelay relay) => Relays.TryRemove(relay, out _);

    private static IEnumerable<Measurement<long>> ObserveLag() =>
        Relays.Keys.Select(r => new Measurement<long>(r.LastStats.Unsent, new KeyValuePair<string, object?>("source", r.Source)));

    private static IEnumerable<Measurement<long>> ObserveParked() =>
        Relays.Keys.Select(r => new Measurement<long>(r.LastStats.Parked, new KeyValuePair<string, object?>("source", r.Source)));

    private static IEnumerable<Measurement<double>> ObserveOldestAge() =>
        Relays.Keys.Select(r => new Measurement<double>(
            r.LastStats.OldestUnsentCreatedAt is { } oldest ? Math.Max(0, (DateTimeOffset.UtcNow - oldest).TotalSeconds) : 0,
            new KeyValuePair<string, object?>("source", r.Source)));
}
