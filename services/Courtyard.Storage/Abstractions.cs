using Orleans;
using Orleans.Storage;

namespace Courtyard.Storage;

// The contract every storage provider (SQLite, PostgreSQL) implements and the shared conformance suite checks.
// Orleans reaches it through the plug-ins in Orleans/ (grain storage over IStateStore, reminder table, journal);
// the event bus uses the outbox, inbox and dead-letter stores. A state write (or journal append), the outbox rows it
// appends and the inbox mark it consumes are committed in ONE transaction.

/// <summary>
/// A grain's persisted state as stored: opaque bytes and an integer version used as the ETag. <see cref="Data"/> is
/// null when the state was cleared: the row stays as a tombstone whose version keeps increasing, so a writer holding
/// a version from before the clear still conflicts.
/// </summary>
public sealed record StoredState(string StateType, string Key, byte[]? Data, long Version);

/// <summary>An integration event to publish, appended in the same transaction as the state change that caused it.</summary>
/// <param name="Partition">Ordering key (the courtyard id): events of one partition are published in commit order.</param>
/// <param name="Topic">Pub/sub topic.</param>
/// <param name="EventType">CloudEvents type, e.g. <c>courtyard.councils.proposal_passed.v1</c>.</param>
/// <param name="Payload">The protobuf message, already JSON-formatted.</param>
/// <param name="TraceParent">W3C traceparent of the activity that produced the event, carried to consumers.</param>
public sealed record OutboxMessage(string Partition, string Topic, string EventType, string Payload, string? TraceParent = null);

/// <summary>An outbox row as stored. <see cref="Id"/> is assigned by the database and never changes.</summary>
public sealed record OutboxRecord(long Id, string Partition, string Topic, string EventType, string Payload,
    string? TraceParent, DateTimeOffset CreatedAt, int Attempts);

/// <summary>"Consumer <paramref name="Consumer"/> has handled event <paramref name="EventId"/> from <paramref name="Source"/>."</summary>
public sealed record InboxMark(string Consumer, string Source, string EventId);

/// <summary>
/// One unit of the storage transaction. <see cref="ExpectedVersion"/> is 0 when the caller believes no row exists.
/// <see cref="Data"/> null means "clear the state": the row becomes a tombstone at ExpectedVersion + 1. On success the
/// row's version is ExpectedVersion + 1 (clearing a state that never existed, expecting 0, writes nothing and yields 0).
/// </summary>
public sealed class StateWrite
{
    public required string StateType { get; init; }
    public required string Key { get; init; }
    public byte[]? Data { get; init; }
    public long ExpectedVersion { get; init; }
    public IReadOnlyList<OutboxMessage> Outbox { get; init; } = [];
    /// <summary>When set, the write is applied only if this mark was not recorded before (exactly-once effects).</summary>
    public InboxMark? Consumes { get; init; }
}

public enum WriteOutcome
{
    /// <summary>State, outbox rows and inbox mark are durable.</summary>
    Committed,
    /// <summary>The inbox mark was already recorded: nothing was written.</summary>
    AlreadyConsumed,
}

public sealed record WriteResult(WriteOutcome Outcome, long NewVersion, IReadOnlyList<long> OutboxIds);

public interface IStateStore
{
    Task<StoredState?> ReadAsync(string stateType, string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits the write durably (group-committed with concurrent writes; acknowledged only once on disk).
    /// Throws Orleans' <see cref="InconsistentStateException"/> on a version mismatch, leaving nothing written, and
    /// <see cref="StorageOutcomeUnknownException"/> when the connection failed while the commit may have happened.
    /// </summary>
    Task<WriteResult> WriteAsync(StateWrite write, CancellationToken cancellationToken = default);
}

public interface IOutboxStore
{
    /// <summary>
    /// Unsent rows with an id greater than <paramref name="afterId"/>, oldest first (by id), at most <paramref name="max"/>.
    /// A relay keeps its position as a cursor instead of reading its backlog again; both providers answer from the
    /// index of unsent rows, so the cost follows the rows returned, not the rows already sent.
    /// </summary>
    Task<IReadOnlyList<OutboxRecord>> ReadUnsentAsync(int max, long afterId, CancellationToken cancellationToken = default);

    /// <summary>Unsent rows, oldest first (by id), at most <paramref name="max"/>.</summary>
    Task<IReadOnlyList<OutboxRecord>> ReadUnsentAsync(int max, CancellationToken cancellationToken = default) =>
        ReadUnsentAsync(max, 0, cancellationToken);

    Task MarkSentAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default);
    Task RecordFailedAttemptAsync(long id, CancellationToken cancellationToken = default);
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

public sealed record OutboxStats(long Unsent, DateTimeOffset? OldestUnsentCreatedAt);

/// <summary>Who relays an outbox: <paramref name="Holder"/> until <paramref name="ExpiresAt"/> (the database's clock).</summary>
public sealed record RelayLease(string Name, string Holder, DateTimeOffset ExpiresAt);

public interface IInboxStore
{
    Task<bool> ContainsAsync(InboxMark mark, CancellationToken cancellationToken = default);
    /// <summary>Records the mark alone; false when it was already there.</summary>
    Task<bool> TryRecordAsync(InboxMark mark, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes marks recorded before <paramref name="recordedBefore"/> (in chunks). A delivery of a purged event is
    /// handled again, so keep marks longer than any redelivery can come late. Returns how many marks were deleted.
    /// </summary>
    Task<long> PurgeAsync(DateTimeOffset recordedBefore, CancellationToken cancellationToken = default);
}

/// <summary>An event a consumer gave up on after repeated failures, kept to be listed and replayed.</summary>
public sealed record DeadLetter(long Id, string Consumer, string Source, string EventId, string EventType, string Topic,
    string Partition, string CloudEventJson, string LastError, int Attempts, DateTimeOffset DeadAt);

public interface IDeadLetterStore
{
    Task<long> AddAsync(DeadLetter letter, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<DeadLetter>> ListAsync(string? consumer, int max, CancellationToken cancellationToken = default);
    Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default);
    Task<bool> RemoveAsync(long id, CancellationToken cancellationToken = default);
    Task<long> CountAsync(CancellationToken cancellationToken = default);
}

/// <summary>One database (a service owns one): all the stores over it, created and migrated on open.</summary>
public interface IStorageProvider : IAsyncDisposable
{
    IStateStore State { get; }
    IOutboxStore Outbox { get; }
    IInboxStore Inbox { get; }
    IDeadLetterStore DeadLetters { get; }
    /// <summary>Event journals of JournaledGrains (see Journal/).</summary>
    IJournalStore Journal { get; }
    /// <summary>This database's reminders, as Orleans reads and writes them (see Orleans/CourtyardReminderTable.cs).</summary>
    IReminderTable Reminders { get; }
}
