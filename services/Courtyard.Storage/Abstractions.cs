using Orleans;
using Orleans.Storage;

namespace Courtyard.Storage;

// The contract every storage provider (SQLite, PostgreSQL) implements and the shared conformance suite checks.
// Orleans reaches it through the plug-ins in Orleans/ (grain storage over IStateStore, reminder table, journal);
// the event bus uses the outbox (OutboxStore.cs), inbox and dead-letter stores. A state write (or journal append), the outbox rows it
// appends and the inbox mark it consumes are committed in ONE transaction.

/// <summary>
/// A grain's persisted state as stored: opaque bytes and an integer version used as the ETag. <see cref="Data"/> is
/// null when the state was cleared: the row stays as a tombstone whose version keeps increasing, so a writer holding
/// a version from before the clear still conflicts.
/// </summary>
public sealed record StoredState(string StateType, string Key, byte[]? Data, long Version);

/// <summary>
/// "Consumer <paramref name="Consumer"/> has handled event <paramref name="EventId"/> from <paramref name="Source"/>."
/// Orleans-serializable, so an event handler passes it to the grain whose state write commits it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record InboxMark([property: Id(0)] string Consumer, [property: Id(1)] string Source, [property: Id(2)] string EventId);

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
    string CourtyardId, string CloudEventJson, string LastError, int Attempts, DateTimeOffset DeadAt);

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
