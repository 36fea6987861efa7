namespace Courtyard.Storage;

// The outbox: integration events committed with the state change that raised them, read and marked by the event
// bus's relay (Courtyard.Events). One row per event; its id is the event's identity and is never reused.

/// <summary>An integration event to publish, appended in the same transaction as the state change that caused it.</summary>
/// <param name="CourtyardId">The courtyard the event is about: events of one courtyard are published in commit order
/// (CloudEvents <c>subject</c>; the outbox column is <c>partition</c>).</param>
/// <param name="Topic">Pub/sub topic.</param>
/// <param name="EventType">CloudEvents type, e.g. <c>courtyard.councils.proposal_passed.v1</c>.</param>
/// <param name="Payload">The protobuf message, already JSON-formatted.</param>
/// <param name="TraceParent">W3C traceparent of the activity that produced the event, carried to consumers.</param>
public sealed record OutboxMessage(string CourtyardId, string Topic, string EventType, string Payload, string? TraceParent = null);

/// <summary>An outbox row as stored. <see cref="Id"/> is assigned by the database and never changes.</summary>
/// <param name="Attempts">Publishes of this row the transport refused.</param>
/// <param name="ParkedAt">Set when the relay gave up on the row after too many refusals: it and its courtyard's later
/// rows wait until an operator releases or discards it.</param>
/// <param name="LastError">Why the last refused publish failed.</param>
public sealed record OutboxRecord(long Id, string CourtyardId, string Topic, string EventType, string Payload,
    string? TraceParent, DateTimeOffset CreatedAt, int Attempts, DateTimeOffset? ParkedAt = null, string? LastError = null);

/// <summary>
/// What a read of unsent rows could see, to tell a missing id that can still appear from one that never will.
/// A reader sees rows of committed transactions only, and ids are drawn before commit, so a lower id can become
/// visible after a higher one (PostgreSQL). A missing id below a row a read returned is either sent, rolled back, or
/// held by a transaction still running. Writers take their transaction id before drawing an outbox id, so that
/// transaction started before the read: once every transaction that had started by then has ended, the gap is final.
/// </summary>
/// <param name="OldestRunning">Every transaction that started before this one has ended (PostgreSQL: the snapshot's xmin).</param>
/// <param name="NextToStart">Every transaction that had started at the read is below this (PostgreSQL: the next xid to
/// be assigned, read after the snapshot; not the snapshot's xmax, which is only the latest completed xid + 1).</param>
public readonly record struct OutboxVisibility(ulong OldestRunning, ulong NextToStart)
{
    /// <summary>A store whose ids become visible in commit order (SQLite's single writer): every gap is final at once.</summary>
    public static OutboxVisibility InCommitOrder => new(ulong.MaxValue, 0);

    /// <summary>
    /// True when a gap first seen below a row returned by a read with visibility <paramref name="firstSeen"/> can no
    /// longer fill: every transaction that could hold one of its ids has ended by this read.
    /// </summary>
    public bool Settles(OutboxVisibility firstSeen) => OldestRunning >= firstSeen.NextToStart;
}

/// <summary>Unsent rows in id order, and what the read could see.</summary>
public sealed class UnsentRows(IReadOnlyList<OutboxRecord> rows, OutboxVisibility visibility) : IReadOnlyList<OutboxRecord>
{
    public OutboxVisibility Visibility { get; } = visibility;
    public int Count => rows.Count;
    public OutboxRecord this[int index] => rows[index];
    public IEnumerator<OutboxRecord> GetEnumerator() => rows.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Where a courtyard's unsent rows are read from: the rows after <paramref name="AfterId"/>.</summary>
public readonly record struct CourtyardCursor(string CourtyardId, long AfterId);

public sealed record OutboxStats(long Unsent, DateTimeOffset? OldestUnsentCreatedAt, long Parked = 0);

/// <summary>Who relays an outbox: <paramref name="Holder"/> until <paramref name="ExpiresAt"/> (the database's clock).</summary>
public sealed record RelayLease(string Name, string Holder, DateTimeOffset ExpiresAt);

public interface IOutboxStore
{
    /// <summary>
    /// Unsent rows (parked ones included) with an id greater than <paramref name="afterId"/>, oldest first, at most
    /// <paramref name="max"/>, with the visibility of the read. Answered from the index of unsent rows, so the cost
    /// follows the rows returned, not the rows already sent.
    /// </summary>
    Task<UnsentRows> ReadUnsentAsync(int max, long afterId = 0, CancellationToken cancellationToken = default);

    /// <summary>
    /// For each cursor, that courtyard's unsent rows (parked ones included) with <c>AfterId &lt; id &lt;= upToId</c>,
    /// oldest first, at most <paramref name="maxPerCourtyard"/> each; all of them in id order. From the index on
    /// (partition, id) of unsent rows: a courtyard's backlog is read without reading anyone else's.
    /// </summary>
    Task<IReadOnlyList<OutboxRecord>> ReadUnsentOfCourtyardsAsync(IReadOnlyCollection<CourtyardCursor> cursors, long upToId,
        int maxPerCourtyard, CancellationToken cancellationToken = default);

    Task MarkSentAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default);

    /// <summary>Counts a publish of row <paramref name="id"/> that the transport refused, keeping its error.</summary>
    Task RecordFailedAttemptAsync(long id, string? error = null, CancellationToken cancellationToken = default);

    /// <summary>Counts the refusal that made the relay give up on row <paramref name="id"/>, and parks it (a producer-side dead letter).</summary>
    Task ParkAsync(long id, string error, CancellationToken cancellationToken = default);

    /// <summary>Parked rows, oldest first.</summary>
    Task<IReadOnlyList<OutboxRecord>> ListParkedAsync(int max, CancellationToken cancellationToken = default);

    /// <summary>Unparks row <paramref name="id"/> with its attempts reset, so the relay publishes it again; false if it is not parked.</summary>
    Task<bool> ReleaseParkedAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Deletes parked row <paramref name="id"/> without publishing it; false if it is not parked.</summary>
    Task<bool> DiscardParkedAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Appends rows in their own transaction (for events not tied to a state change).</summary>
    Task<IReadOnlyList<long>> AppendAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default);

    Task<OutboxStats> GetStatsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// A task that completes the next time outbox rows commit through this provider, whichever path wrote them (a
    /// state write, a journal append, <see cref="AppendAsync"/>). Take it <em>before</em> reading unsent rows and await it
    /// when the read found nothing: a commit landing between the read and the wait has then already completed it.
    /// Rows committed by another process on the same database are not signalled; a relay still polls for those.
    /// </summary>
    Task NextCommit();

    /// <summary>
    /// Deletes rows marked sent before <paramref name="sentBefore"/> (in chunks, so writers are not held up); unsent
    /// rows are never deleted, and ids are never reused afterwards. Returns how many rows were deleted.
    /// </summary>
    Task<long> PurgeAsync(DateTimeOffset sentBefore, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims or renews the lease <paramref name="name"/> for <paramref name="holder"/> until the database's clock passes
    /// now + <paramref name="duration"/>: a compare-and-set that succeeds when nobody holds the lease, when
    /// <paramref name="holder"/> already holds it, or when the previous holder's lease has expired. Of concurrent callers
    /// at most one holds it at any time. False: someone else holds it.
    /// </summary>
    Task<bool> TryAcquireRelayLeaseAsync(string name, string holder, TimeSpan duration, CancellationToken cancellationToken = default);

    /// <summary>Gives the lease up if <paramref name="holder"/> holds it (so another replica can take over at once).</summary>
    Task ReleaseRelayLeaseAsync(string name, string holder, CancellationToken cancellationToken = default);

    /// <summary>The lease as stored (possibly expired), or null when nobody ever claimed it or it was released.</summary>
    Task<RelayLease?> ReadRelayLeaseAsync(string name, CancellationToken cancellationToken = default);
}
