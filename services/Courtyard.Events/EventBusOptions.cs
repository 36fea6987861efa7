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
    /// The relay also looks for new rows this often (committed by other processes, missed signals), and sweeps the
    /// unsent rows from the first for rows its cursor passed (committed late, or left while their partition was blocked).
    /// </summary>
    public TimeSpan RelayPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the relay holds rows it read above a missing id, waiting for the transaction that took the id to commit
    /// (PostgreSQL with several writer loops or replicas, or events appended beside state writes), before it publishes
    /// past the hole. A row committed even later is published by the next sweep, possibly after later rows of its
    /// courtyard. SQLite commits ids in order and never leaves such holes.
    /// </summary>
    public TimeSpan RelayLateCommitWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Unsent rows read at most per relay read (after the cursor, or one page of the sweep).</summary>
    public int RelayReadBatch { get; set; } = 1000;

    /// <summary>
    /// At most this many rows read and waiting in memory (plus rows passed and left in the database). A partition keeps
    /// at most twice <see cref="RelayMaxRowsPerPublish"/> waiting; a blocked courtyard's later rows stay in the database
    /// until it drains.
    /// </summary>
    public int RelayMaxBufferedRows { get; set; } = 16_000;

    /// <summary>At most this many rows of one partition are in one publish.</summary>
    public int RelayMaxRowsPerPublish { get; set; } = 256;

    /// <summary>At most this many rows published and not yet confirmed at once.</summary>
    public int RelayMaxInFlightRows { get; set; } = 4096;

    /// <summary>Wait before publishing a partition again after a failed publish.</summary>
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
