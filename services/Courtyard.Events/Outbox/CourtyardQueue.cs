using Courtyard.Storage;

namespace Courtyard.Events.Outbox;

/// <summary>
/// One courtyard's rows on their way out, published one batch at a time in id order. Either <b>attached</b>: the
/// frontier hands it its rows as it reads them; or <b>reading on its own</b> (<see cref="ReadAfter"/> set): it fell
/// behind (too many rows waiting, a parked row) and reads its rows after that id from the database itself, up to the
/// frontier, until it has caught up. So a blocked courtyard keeps a bounded number of rows in memory however long its
/// backlog, and nobody else waits for it.
/// </summary>
internal sealed class CourtyardQueue(string courtyardId)
{
    public string CourtyardId { get; } = courtyardId;

    /// <summary>Rows read and not yet accepted by the transport, in id order.</summary>
    public List<OutboxRecord> Waiting { get; } = [];

    public bool InFlight { get; set; }

    /// <summary>Set while the courtyard reads its own rows: those with a greater id (up to the frontier) are in the database.</summary>
    public long? ReadAfter { get; set; }

    /// <summary>Its next row in the database is parked: look again (has an operator released or discarded it?) at this time.</summary>
    public DateTimeOffset? ParkedRecheckAt { get; set; }

    /// <summary>Publishes refused or failed in a row; the next publish waits until <see cref="RetryAt"/>.</summary>
    public int ConsecutiveFailures { get; set; }

    public DateTimeOffset RetryAt { get; set; }

    public bool CanPublish(DateTimeOffset now) => !InFlight && Waiting.Count > 0 && RetryAt <= now;

    /// <summary>Reads its own rows next: it reads on its own, everything read is out, and no wait is pending.</summary>
    public bool NeedsRead(DateTimeOffset now) =>
        ReadAfter is not null && !InFlight && Waiting.Count == 0 && RetryAt <= now && (ParkedRecheckAt is not { } at || at <= now);

    /// <summary>Nothing to remember: the frontier will hand it whatever comes next.</summary>
    public bool IsIdle => ReadAfter is null && !InFlight && Waiting.Count == 0 && ConsecutiveFailures == 0;

    /// <summary>From now on the courtyard reads its rows after <paramref name="id"/> itself (unless it already does).</summary>
    public void ReadOnItsOwnAfter(long id) => ReadAfter ??= id;
}
