namespace Courtyard.Storage;

/// <summary>
/// A stream of events as stored: the newest snapshot (the state at <see cref="SnapshotVersion"/>, or null before the
/// first) and the events after it, oldest first, so the state at <see cref="Version"/> is the snapshot plus
/// <see cref="Events"/>. <see cref="LastBatch"/> is the id of the last committed append (to resolve one in doubt).
/// </summary>
public sealed record JournalStream(string Stream, long Version, byte[]? Snapshot, long SnapshotVersion, IReadOnlyList<byte[]> Events, Guid LastBatch);

/// <summary>
/// One append: <see cref="Events"/> become versions ExpectedVersion + 1 … ExpectedVersion + n, committed in ONE transaction
/// with the outbox rows and the inbox mark, group-committed with every other write of the provider. The cost does not
/// depend on the history already stored: the stream's head row is checked and moved, the new events inserted.
/// </summary>
public sealed class JournalAppend
{
    public required string Stream { get; init; }
    public required long ExpectedVersion { get; init; }
    public required IReadOnlyList<byte[]> Events { get; init; }
    /// <summary>The state at <see cref="ExpectedVersion"/>, stored as the stream's snapshot when set.</summary>
    public byte[]? Snapshot { get; init; }
    /// <summary>Identifies the append, so that one whose outcome was unknown can be recognised once committed.</summary>
    public Guid BatchId { get; init; } = Guid.NewGuid();
    public IReadOnlyList<OutboxMessage> Outbox { get; init; } = [];
    public InboxMark? Consumes { get; init; }
}

/// <summary>One stored event row of a stream.</summary>
public sealed record JournalEvent(long Version, byte[] Data);

public interface IJournalStore
{
    /// <summary>The stream's snapshot and the events after it; null when nothing was ever appended.</summary>
    Task<JournalStream?> ReadAsync(string stream, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends durably. A stream not at <see cref="JournalAppend.ExpectedVersion"/> throws Orleans'
    /// <c>InconsistentStateException</c>; an inbox mark recorded before gives <see cref="WriteOutcome.AlreadyConsumed"/>;
    /// both write nothing. <see cref="StorageOutcomeUnknownException"/>: the append may have committed (see
    /// <see cref="JournalStream.LastBatch"/>). <see cref="WriteResult.NewVersion"/> is the stream's new version.
    /// </summary>
    Task<WriteResult> AppendAsync(JournalAppend append, CancellationToken cancellationToken = default);

    /// <summary>
    /// The stream's event rows with a version above <paramref name="afterVersion"/>, oldest first, at most
    /// <paramref name="max"/>: the rows as the table holds them, whatever the head and its snapshot say (for a grain that
    /// lists its history, or an audit that checks the rows themselves). One indexed range read.
    /// </summary>
    Task<IReadOnlyList<JournalEvent>> ReadEventsAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken = default);
}
