using Microsoft.Data.Sqlite;

namespace Courtyard.Storage.Sqlite;

internal sealed class SqliteStateStore(SqliteStorageProvider provider) : IStateStore
{
    public Task<StoredState?> ReadAsync(string stateType, string key, CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.ReadState, [stateType, key],
            reader => reader.Read() ? new StoredState(stateType, key, reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0), reader.GetInt64(1)) : null,
            cancellationToken);

    public Task<WriteResult> WriteAsync(StateWrite write, CancellationToken cancellationToken = default)
    {
        StateWriteValidation.Validate(write);
        return provider.WriteAsync(writer => writer.WriteState(write), cancellationToken);
    }
}

internal sealed class SqliteOutboxStore(SqliteStorageProvider provider) : IOutboxStore
{
    // One writer commits ids in order: a reader never sees a higher id before a lower one.
    public Task<UnsentRows> ReadUnsentAsync(int max, long afterId = 0, CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.ReadUnsentOutbox, [max, afterId],
            reader => new UnsentRows(ReadRecords(reader), OutboxVisibility.InCommitOrder), cancellationToken);

    public async Task<IReadOnlyList<OutboxRecord>> ReadUnsentOfCourtyardsAsync(IReadOnlyCollection<CourtyardCursor> cursors, long upToId,
        int maxPerCourtyard, CancellationToken cancellationToken = default)
    {
        var rows = new List<OutboxRecord>();
        foreach (var cursor in cursors)
        {
            rows.AddRange(await provider.ReadAsync(SqliteSchema.ReadUnsentOfCourtyard, [cursor.CourtyardId, cursor.AfterId, upToId, maxPerCourtyard],
                ReadRecords, cancellationToken));
        }
        rows.Sort((a, b) => a.Id.CompareTo(b.Id));
        return rows;
    }

    public Task MarkSentAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default)
    {
        if (ids.Count == 0) return Task.CompletedTask;
        var snapshot = ids.ToArray();
        return provider.WriteAsync(writer =>
        {
            var now = StorageTime.NowUnixMicroseconds();
            foreach (var id in snapshot) writer.Execute(SqliteSchema.MarkOutboxSent, id, now);
            return true;
        }, cancellationToken);
    }

    public Task RecordFailedAttemptAsync(long id, string? error = null, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Execute(SqliteSchema.RecordOutboxAttempt, id, error), cancellationToken);

    public Task ParkAsync(long id, string error, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Execute(SqliteSchema.ParkOutboxRow, id, error, StorageTime.NowUnixMicroseconds()), cancellationToken);

    public Task<IReadOnlyList<OutboxRecord>> ListParkedAsync(int max, CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.ListParkedOutbox, [max], ReadRecords, cancellationToken);

    public Task<bool> ReleaseParkedAsync(long id, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Execute(SqliteSchema.ReleaseParkedOutbox, id) == 1, cancellationToken);

    public Task<bool> DiscardParkedAsync(long id, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Execute(SqliteSchema.DiscardParkedOutbox, id) == 1, cancellationToken);

    public Task<IReadOnlyList<long>> AppendAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default)
    {
        var snapshot = messages.ToArray();
        return provider.WriteAsync(writer => writer.AppendOutbox(snapshot, StorageTime.NowUnixMicroseconds()), cancellationToken);
    }

    public Task NextCommit() => provider.OutboxCommits.Next;

    public Task<OutboxStats> GetStatsAsync(CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.OutboxStats, [], reader =>
        {
            reader.Read();
            return new OutboxStats(reader.GetInt64(0), reader.IsDBNull(1) ? null : StorageTime.FromUnixMicroseconds(reader.GetInt64(1)), reader.GetInt64(2));
        }, cancellationToken);

    private static IReadOnlyList<OutboxRecord> ReadRecords(SqliteDataReader reader)
    {
        var rows = new List<OutboxRecord>();
        while (reader.Read())
        {
            rows.Add(new OutboxRecord(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5),
                StorageTime.FromUnixMicroseconds(reader.GetInt64(6)), reader.GetInt32(7),
                reader.IsDBNull(8) ? null : StorageTime.FromUnixMicroseconds(reader.GetInt64(8)),
                reader.IsDBNull(9) ? null : reader.GetString(9)));
        }
        return rows;
    }

    public Task<long> PurgeAsync(DateTimeOffset sentBefore, CancellationToken cancellationToken = default) =>
        provider.PurgeInChunksAsync(SqliteSchema.PurgeSentOutbox, StorageTime.ToUnixMicroseconds(sentBefore), cancellationToken);

    public Task<bool> TryAcquireRelayLeaseAsync(string name, string holder, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        return provider.WriteAsync(writer =>
        {
            // The clock is read inside the writer's transaction, as close to the commit as it gets.
            var now = StorageTime.NowUnixMicroseconds();
            return writer.Execute(SqliteSchema.AcquireRelayLease, name, holder, now + StorageTime.Normalize(duration).Ticks / 10, now) == 1;
        }, cancellationToken);
    }

    public Task ReleaseRelayLeaseAsync(string name, string holder, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Execute(SqliteSchema.ReleaseRelayLease, name, holder), cancellationToken);

    public Task<RelayLease?> ReadRelayLeaseAsync(string name, CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.ReadRelayLease, [name],
            reader => reader.Read() ? new RelayLease(name, reader.GetString(0), StorageTime.FromUnixMicroseconds(reader.GetInt64(1))) : null,
            cancellationToken);
}

internal sealed class SqliteInboxStore(SqliteStorageProvider provider) : IInboxStore
{
    public Task<bool> ContainsAsync(InboxMark mark, CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.ContainsInbox, [mark.Consumer, mark.Source, mark.EventId], reader => reader.Read(), cancellationToken);

    public Task<bool> TryRecordAsync(InboxMark mark, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.InsertInboxMark(mark, StorageTime.NowUnixMicroseconds()), cancellationToken);

    public Task<long> PurgeAsync(DateTimeOffset recordedBefore, CancellationToken cancellationToken = default) =>
        provider.PurgeInChunksAsync(SqliteSchema.PurgeInbox, StorageTime.ToUnixMicroseconds(recordedBefore), cancellationToken);
}

internal sealed class SqliteDeadLetterStore(SqliteStorageProvider provider) : IDeadLetterStore
{
    public Task<long> AddAsync(DeadLetter letter, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Scalar<long>(SqliteSchema.InsertDeadLetter, letter.Consumer, letter.Source, letter.EventId,
            letter.EventType, letter.Topic, letter.CourtyardId, letter.CloudEventJson, letter.LastError, letter.Attempts,
            StorageTime.ToUnixMicroseconds(letter.DeadAt)), cancellationToken);

    public Task<IReadOnlyList<DeadLetter>> ListAsync(string? consumer, int max, CancellationToken cancellationToken = default) =>
        consumer is null
            ? provider.ReadAsync(SqliteSchema.ListDeadLetters, [max], ReadAll, cancellationToken)
            : provider.ReadAsync(SqliteSchema.ListDeadLettersOfConsumer, [max, consumer], ReadAll, cancellationToken);

    public Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.GetDeadLetter, [id], reader => reader.Read() ? ReadOne(reader) : null, cancellationToken);

    public Task<bool> RemoveAsync(long id, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Execute(SqliteSchema.DeleteDeadLetter, id) == 1, cancellationToken);

    public Task<long> CountAsync(CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.CountDeadLetters, [], reader => reader.Read() ? reader.GetInt64(0) : 0, cancellationToken);

    private static IReadOnlyList<DeadLetter> ReadAll(SqliteDataReader reader)
    {
        var letters = new List<DeadLetter>();
        while (reader.Read()) letters.Add(ReadOne(reader));
        return letters;
    }

    private static DeadLetter ReadOne(SqliteDataReader reader) => new(reader.GetInt64(0), reader.GetString(1), reader.GetString(2),
        reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetString(8),
        reader.GetInt32(9), StorageTime.FromUnixMicroseconds(reader.GetInt64(10)));
}

internal sealed class SqliteJournalStore(SqliteStorageProvider provider) : IJournalStore
{
    public async Task<JournalStream?> ReadAsync(string stream, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        var head = await provider.ReadAsync(SqliteSchema.ReadJournalHead, [stream], reader => reader.Read()
            ? (Version: reader.GetInt64(0), Snapshot: reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1), SnapshotVersion: reader.GetInt64(2),
                LastBatch: new Guid(reader.GetFieldValue<byte[]>(3)))
            : default((long Version, byte[]? Snapshot, long SnapshotVersion, Guid LastBatch)?), cancellationToken);
        if (head is not { } found) return null;
        // The head and the events are read apart: events committed in between are beyond found.Version and left out.
        var events = await provider.ReadAsync(SqliteSchema.ReadJournalEvents, [stream, found.SnapshotVersion], reader =>
        {
            var list = new List<byte[]>();
            while (reader.Read()) list.Add(reader.GetFieldValue<byte[]>(0));
            return list;
        }, cancellationToken);
        var count = (int)(found.Version - found.SnapshotVersion);
        if (events.Count > count) events.RemoveRange(count, events.Count - count);
        return new JournalStream(stream, found.Version, found.Snapshot, found.SnapshotVersion, events, found.LastBatch);
    }

    public Task<WriteResult> AppendAsync(JournalAppend append, CancellationToken cancellationToken = default)
    {
        JournalAppendValidation.Validate(append);
        return provider.WriteAsync(writer => writer.AppendJournal(append), cancellationToken);
    }

    public async Task<IReadOnlyList<JournalEvent>> ReadEventsAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        return await provider.ReadAsync(SqliteSchema.ReadJournalRows, [stream, afterVersion, max], reader =>
        {
            var rows = new List<JournalEvent>();
            while (reader.Read()) rows.Add(new JournalEvent(reader.GetInt64(0), reader.GetFieldValue<byte[]>(1)));
            return rows;
        }, cancellationToken);
    }
}

/// <summary>This database's reminders as Orleans' reminder service reads and writes them; the ETag is new at each upsert.</summary>
internal sealed class SqliteReminderTable(SqliteStorageProvider provider) : Orleans.IReminderTable
{
    public Task<Orleans.ReminderTableData> ReadRows(Orleans.Runtime.GrainId grainId) =>
        provider.ReadAsync(SqliteSchema.ReadRemindersOfGrain, [grainId.ToString()], ReadAll, CancellationToken.None);

    public Task<Orleans.ReminderTableData> ReadRows(uint begin, uint end) =>
        provider.ReadAsync(begin < end ? SqliteSchema.ReadRemindersInRange : SqliteSchema.ReadRemindersOutsideRange,
            [(long)begin, (long)end], ReadAll, CancellationToken.None);

    public Task<Orleans.ReminderEntry?> ReadRow(Orleans.Runtime.GrainId grainId, string reminderName) =>
        provider.ReadAsync(SqliteSchema.ReadReminder, [grainId.ToString(), reminderName],
            reader => reader.Read() ? ReminderRows.Read(reader) : null, CancellationToken.None);

    public async Task<string?> UpsertRow(Orleans.ReminderEntry entry)
    {
        var etag = ReminderRows.NewETag();
        await provider.WriteAsync(writer => writer.Execute(SqliteSchema.UpsertReminder, entry.GrainId.ToString(), entry.ReminderName,
            (long)entry.GrainId.GetUniformHashCode(), ReminderRows.StartAt(entry), entry.Period.Ticks, etag), CancellationToken.None);
        return ReminderRows.ETag(etag);
    }

    public Task<bool> RemoveRow(Orleans.Runtime.GrainId grainId, string reminderName, string eTag) =>
        ReminderRows.TryParseETag(eTag, out var version)
            ? provider.WriteAsync(writer => writer.Execute(SqliteSchema.DeleteReminder, grainId.ToString(), reminderName, version) == 1, CancellationToken.None)
            : Task.FromResult(false);

    public Task TestOnlyClearTable() => provider.WriteAsync(writer => writer.Execute(SqliteSchema.ClearReminders), CancellationToken.None);

    private static Orleans.ReminderTableData ReadAll(SqliteDataReader reader)
    {
        var entries = new List<Orleans.ReminderEntry>();
        while (reader.Read()) entries.Add(ReminderRows.Read(reader));
        return new Orleans.ReminderTableData(entries);
    }
}
