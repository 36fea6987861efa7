namespace Courtyard.Events;

/// <summary>Settings of one service's event bus (its outbox relay and its consumers).</summary>
public sealed class EventBusOptions
{
    /// <summary>The service name: CloudEvents <c>source</c> and the prefix of event ids ("councils" -> "councils-1234").</summary>
    public required string Source { get; init; }

    /// <summary>A handler that fails this many deliveries of one event sends it to the dead letters.</summary>
    public int MaxDeliveryAttempts { get; set; } = 5;

    /// <summary>Run the outbox relay (off: rows wait in the outbox, e.g. for a replica that only consumes).</summary>
    public bool RelayEnabled { get; set; } = true;

    /// <summary>Subscribe the declared consumers.</summary>
    public bool ConsumersEnabled { get; set; } = true;

    /// <summary>The relay also looks for unsent rows this often (rows left by a crashed process, missed signals).</summary>
    public TimeSpan RelayPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Unsent rows read per relay pass (grows, up to 16x, while blocked partitions fill the window).</summary>
    public int RelayReadBatch { get; set; } = 1000;

    /// <summary>At most this many rows of one partition are in one publish.</summary>
    public int RelayMaxRowsPerPublish { get; set; } = 256;

    /// <summary>At most this many rows published and not yet confirmed at once.</summary>
    public int RelayMaxInFlightRows { get; set; } = 4096;

    /// <summary>Wait before publishing a partition again after a failed publish.</summary>
    public Backoff PublishBackoff { get; set; } = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30));
}
