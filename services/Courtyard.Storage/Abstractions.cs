namespace Courtyard.Storage;

// The contract every storage provider (SQLite, PostgreSQL) implements and the shared conformance suite checks.
// Grains use IStateStore; the event bus uses the outbox (OutboxStore.cs), inbox and dead-letter stores. A state write, the outbox
// rows it appends and the inbox mark it consumes are committed in ONE transaction.

/// <summary>A grain's persisted state as stored: opaque bytes and an integer version used as the ETag.</summary>
public sealed record StoredState(string StateType, string Key, byte[] Data, long Version);

/// <summary>"Consumer <paramref name="Consumer"/> has handled event <paramref name="EventId"/> from <paramref name="Source"/>."</summary>
public sealed record InboxMark(string Consumer, string Source, string EventId);

/// <summary>
/// One unit of the storage transaction. <see cref="ExpectedVersion"/> is 0 when the caller believes no row exists.
/// <see cref="Data"/> null means "clear the state" (delete the row). On success the row's version is ExpectedVersion + 1
/// (a cleared row's version is gone; the next write expects 0 again).
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

/// <summary>
/// The stored version differs from the expected one: someone else wrote in between. Nothing was written.
/// Grains drop their activation on it (the next call reloads); gRPC callers see ABORTED.
/// </summary>
public sealed class InconsistentStateException(string stateType, string key, long expectedVersion, long? storedVersion)
    : Exception($"State {stateType}/{key} changed underneath: expected version {expectedVersion}, stored {(storedVersion?.ToString() ?? "none")}.")
{
    public string StateType { get; } = stateType;
    public string Key { get; } = key;
    public long ExpectedVersion { get; } = expectedVersion;
    public long? StoredVersion { get; } = storedVersion;
}

public interface IStateStore
{
    Task<StoredState?> ReadAsync(string stateType, string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits the write durably (group-committed with concurrent writes; acknowledged only once on disk).
    /// Throws <see cref="InconsistentStateException"/> on a version mismatch, leaving nothing written.
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

/// <summary>A durable reminder: wakes grain (GrainType, Key) at DueAt, then every Period if set.</summary>
public sealed record ReminderRecord(string GrainType, string Key, string Name, DateTimeOffset DueAt, TimeSpan? Period);

/// <summary>
/// Durable reminders, polled by the grain runtime. Firing is at least once: a poller claims a due reminder by moving
/// its DueAt to a lease time (compare-and-set on the old DueAt, so only one process of several fires it), fires it,
/// then reschedules (periodic) or removes it (one-shot). A crash between claim and completion fires it again at the lease.
/// </summary>
public interface IReminderStore
{
    Task UpsertAsync(ReminderRecord reminder, CancellationToken cancellationToken = default);
    Task<bool> RemoveAsync(string grainType, string key, string name, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<ReminderRecord>> ListAsync(string grainType, string key, CancellationToken cancellationToken = default);
    /// <summary>Reminders with DueAt at or before <paramref name="now"/>, earliest first.</summary>
    Task<IReadOnlyList<ReminderRecord>> ReadDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default);
    /// <summary>Sets DueAt to <paramref name="newDueAt"/> only if it is still <paramref name="reminder"/>.DueAt; true when this caller won.</summary>
    Task<bool> TryRescheduleAsync(ReminderRecord reminder, DateTimeOffset newDueAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes the reminder only if its DueAt is still <paramref name="reminder"/>.DueAt (compare-and-delete), so a poller
    /// finishing a one-shot reminder cannot delete a registration the grain renewed meanwhile; true when removed.
    /// The SQLite and PostgreSQL providers do this atomically; this default (for other implementations) is not atomic.
    /// </summary>
    async Task<bool> TryRemoveAsync(ReminderRecord reminder, CancellationToken cancellationToken = default)
    {
        var current = await ListAsync(reminder.GrainType, reminder.Key, cancellationToken);
        return current.Any(r => r.Name == reminder.Name && r.DueAt == reminder.DueAt)
            && await RemoveAsync(reminder.GrainType, reminder.Key, reminder.Name, cancellationToken);
    }
}

/// <summary>One database (a service owns one): all the stores over it, created and migrated on open.</summary>
public interface IStorageProvider : IAsyncDisposable
{
    IStateStore State { get; }
    IOutboxStore Outbox { get; }
    IInboxStore Inbox { get; }
    IDeadLetterStore DeadLetters { get; }
    IReminderStore Reminders { get; }
}
