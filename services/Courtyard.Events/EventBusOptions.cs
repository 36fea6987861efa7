namespace Courtyard.Events;

/// <summary>Settings of one service's event bus (its outbox relay and its consumers).</summary>
public sealed class EventBusOptions
{
    /// <summary>The service name: CloudEvents <c>source</c> and the prefix of event ids ("councils" -> "councils-1234").</summary>
    public required string Source { get; init; }

    /// <summary>A handler that fails this many deliveries of one event sends it to the dead letters.</summary>
    public int MaxDeliveryAttempts { get; set; } = 5;

    /// <summary>
    /// Run the outbox relay. Replicas of a service sharing one database may all leave it on: only the holder of the
    /// relay lease publishes (off: this process never relays, e.g. a replica that only consumes).
    /// </summary>
    public bool RelayEnabled { get; set; } = true;

    /// <summary>
    /// The relay lease: the holder renews it every third of this; when the holder dies another replica takes over
    /// within about this long (at once when the holder stops cleanly and releases it).
    /// </summary>
    public TimeSpan RelayLeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Subscribe the declared consumers.</summary>
    public bool ConsumersEnabled { get; set; } = true;

    /// <summary>
    /// The relay looks for rows committed by other processes (and rows nobody woke it for) this often, and looks again
    /// at a courtyard whose next row is parked (has an operator released it?).
    /// </summary>
    public TimeSpan RelayPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Safety cap on the wait at a gap in the outbox ids (PostgreSQL: a lower id whose transaction has not committed).
    /// The relay passes a gap as soon as the database shows that every transaction that could fill it has ended, which
    /// takes as long as the transactions running at the time (milliseconds). Only a transaction held open for longer than
    /// this (anywhere in the PostgreSQL cluster) makes the relay publish past the gap; a row that commits into it later
    /// is still published, after later rows of its courtyard.
    /// </summary>
    public TimeSpan RelayGapWaitLimit { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Unsent rows read at most per relay read.</summary>
    public int RelayReadBatch { get; set; } = 1000;

    /// <summary>At most this many rows read and not yet accepted by the transport, in memory.</summary>
    public int RelayMaxRowsInMemory { get; set; } = 16_000;

    /// <summary>
    /// At most this many rows of one courtyard in memory; a courtyard with more (a blocked one) reads its later rows
    /// from the database itself as it drains, so nobody waits for it however long its backlog.
    /// </summary>
    public int RelayMaxRowsPerCourtyard { get; set; } = 512;

    /// <summary>At most this many rows of one courtyard in one publish.</summary>
    public int RelayMaxRowsPerPublish { get; set; } = 256;

    /// <summary>At most this many rows published and not yet confirmed at once.</summary>
    public int RelayMaxInFlightRows { get; set; } = 4096;

    /// <summary>
    /// A row the transport refused this many times (the broker or sidecar answered and said no, e.g. a message too large
    /// or a topic it may not publish to) is parked: listed by EventAdmin, counted by courtyard.events.outbox.parked, and
    /// its courtyard's later rows wait behind it until an operator releases or discards it. A transport that cannot be
    /// reached (broker down) is never counted: that only delays.
    /// </summary>
    public int MaxPublishAttempts { get; set; } = 10;

    /// <summary>Wait before publishing a courtyard's rows again after a failed publish.</summary>
    public Backoff PublishBackoff { get; set; } = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30));

    /// <summary>Delete outbox rows this long after they were sent (kept meanwhile to look into what was published).</summary>
    public TimeSpan SentOutboxRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Delete inbox marks this long after they were recorded. A duplicate arriving later is handled again, so this must
    /// exceed every way an event can come back: broker redelivery (seconds to hours), a producer re-publishing rows it
    /// had published but not marked sent when it crashed (at its next start, possibly after a long outage), Dapr retries.
    /// </summary>
    public TimeSpan InboxRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often the retention purge runs (first run shortly after start: at most a minute, or this if shorter).</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Run the retention purge (every replica may: deleting what another replica already deleted is harmless).</summary>
    public bool RetentionEnabled { get; set; } = true;
}
