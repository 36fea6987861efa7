using Npgsql;
using NpgsqlTypes;
using static Courtyard.Storage.Postgres.PostgresStorageProvider;

namespace Courtyard.Storage.Postgres;

internal sealed class PostgresStateStore(PostgresStorageProvider provider) : IStateStore
{
    public Task<StoredState?> ReadAsync(string stateType, string key, CancellationToken cancellationToken = default) =>
        provider.QueryAsync(PostgresSchema.ReadState, [Text(stateType), Text(key)], async (reader, ct) =>
            await reader.ReadAsync(ct) ? new StoredState(stateType, key, reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0), reader.GetInt64(1)) : null,
            cancellationToken);

    public Task<WriteResult> WriteAsync(StateWrite write, CancellationToken cancellationToken = default)
    {
        StateWriteValidation.Validate(write);
        return provider.WriteAsync(new PendingStateWrite(write), cancellationToken);
    }
}

internal sealed class PostgresOutboxStore(PostgresStorageProvider provider) : IOutboxStore
{
    public Task<UnsentRows> ReadUnsentAsync(int max, long afterId = 0, CancellationToken cancellationToken = default) =>
        provider.QueryAsync(PostgresSchema.ReadUnsentOutbox, [Integer(max), Bigint(afterId)], async (reader, ct) =>
        {
            var rows = new List<OutboxRecord>();
            var visibility = default(OutboxVisibility);
            while (await reader.ReadAsync(ct))
            {
                visibility = new OutboxVisibility((ulong)reader.GetInt64(0), (ulong)reader.GetInt64(1));
                if (!reader.IsDBNull(2)) rows.Add(ReadRecord(reader, first: 2));
            }
            return new UnsentRows(rows, visibility);
        }, cancellationToken);

    public Task<IReadOnlyList<OutboxRecord>> ReadUnsentOfCourtyardsAsync(IReadOnlyCollection<CourtyardCursor> cursors, long upToId,
        int maxPerCourtyard, CancellationToken cancellationToken = default) =>
        cursors.Count == 0
            ? Task.FromResult<IReadOnlyList<OutboxRecord>>([])
            : provider.QueryAsync(PostgresSchema.ReadUnsentOfCourtyards,
                [
                    PostgresStatements.TextArray(cursors.Select(c => c.CourtyardId)),
                    new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = cursors.Select(c => c.AfterId).ToArray() },
                    Bigint(upToId), Integer(maxPerCourtyard),
                ], ReadRecordsAsync, cancellationToken);

    public Task MarkSentAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default) =>
        ids.Count == 0
            ? Task.CompletedTask
            : provider.ExecuteAsync(PostgresSchema.MarkOutboxSent,
                [new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = ids.ToArray() }], cancellationToken);

    public Task RecordFailedAttemptAsync(long id, string? error = null, CancellationToken cancellationToken = default) =>
        provider.ExecuteAsync(PostgresSchema.RecordOutboxAttempt, [Bigint(id), NullableText(error)], cancellationToken);

    public Task ParkAsync(long id, string error, CancellationToken cancellationToken = default) =>
        provider.ExecuteAsync(PostgresSchema.ParkOutboxRow, [Bigint(id), Text(error)], cancellationToken);

    public Task<IReadOnlyList<OutboxRecord>> ListParkedAsync(int max, CancellationToken cancellationToken = default) =>
        provider.QueryAsync(PostgresSchema.ListParkedOutbox, [Integer(max)], ReadRecordsAsync, cancellationToken);

    public async Task<bool> ReleaseParkedAsync(long id, CancellationToken cancellationToken = default) =>
        await provider.ExecuteAsync(PostgresSchema.ReleaseParkedOutbox, [Bigint(id)], cancellationToken) == 1;

    public async Task<bool> DiscardParkedAsync(long id, CancellationToken cancellationToken = default) =>
        await provider.ExecuteAsync(PostgresSchema.DiscardParkedOutbox, [Bigint(id)], cancellationToken) == 1;

    public async Task<IReadOnlyList<long>> AppendAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default)
    {
        if (messages.Count == 0) return [];
        // One implicit transaction: its xid first, then the ids (PostgresOutboxOrdering).
        await using var connection = await provider.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(PostgresOutboxOrdering.TakeTransactionIdFirst));
        var append = new NpgsqlBatchCommand(PostgresSchema.AppendOutbox);
        append.Parameters.Add(PostgresStatements.TextArray(messages.Select(m => m.CourtyardId)));
        append.Parameters.Add(PostgresStatements.TextArray(messages.Select(m => m.Topic)));
        append.Parameters.Add(PostgresStatements.TextArray(messages.Select(m => m.EventType)));
        append.Parameters.Add(PostgresStatements.TextArray(messages.Select(m => m.Payload)));
        append.Parameters.Add(PostgresStatements.TextArray(messages.Select(m => m.TraceParent)));
        batch.BatchCommands.Add(append);
        var ids = new List<long>(messages.Count);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) ids.Add(reader.GetInt64(0));
        }
        ids.Sort();
        provider.OutboxCommits.Raise();
        return ids;
    }

    public Task NextCommit() => provider.OutboxCommits.Next;

    private static OutboxRecord ReadRecord(NpgsqlDataReader reader, int first) => new(
        reader.GetInt64(first), reader.GetString(first + 1), reader.GetString(first + 2), reader.GetString(first + 3),
        reader.GetString(first + 4), reader.IsDBNull(first + 5) ? null : reader.GetString(first + 5),
        reader.GetFieldValue<DateTimeOffset>(first + 6), reader.GetInt32(first + 7),
        reader.IsDBNull(first + 8) ? null : reader.GetFieldValue<DateTimeOffset>(first + 8),
        reader.IsDBNull(first + 9) ? null : reader.GetString(first + 9));

    private static async Task<IReadOnlyList<OutboxRecord>> ReadRecordsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var rows = new List<OutboxRecord>();
        while (await reader.ReadAsync(cancellationToken)) rows.Add(ReadRecord(reader, first: 0));
        return rows;
    }

    private static NpgsqlParameter NullableText(string? value) => value is null
        ? new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = DBNull.Value }
        : Text(value);

    public Task<OutboxStats> GetStatsAsync(CancellationToken cancellationToken = default) =>
        provider.QueryAsync(PostgresSchema.OutboxStats, [], async (reader, ct) =>
        {
            await reader.ReadAsync(ct);
            return new OutboxStats(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt64(2));
        }, cancellationToken);

    public Task<long> PurgeAsync(DateTimeOffset sentBefore, CancellationToken cancellationToken = default) =>
        provider.PurgeInChunksAsync(PostgresSchema.PurgeSentOutbox, sentBefore, cancellationToken);

    public async Task<bool> TryAcquireRelayLeaseAsync(string name, string holder, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        return await provider.ExecuteAsync(PostgresSchema.AcquireRelayLease,
            [Text(name), Text(holder), new NpgsqlParameter<TimeSpan> { NpgsqlDbType = NpgsqlDbType.Interval, TypedValue = StorageTime.Normalize(duration) }],
            cancellationToken) == 1;
    }

    public Task ReleaseRelayLeaseAsync(string name, string holder, CancellationToken cancellationToken = default) =>
        provider.ExecuteAsync(PostgresSchema.ReleaseRelayLease, [Text(name), Text(holder)], cancellationToken);

    public Task<RelayLease?> ReadRelayLeaseAsync(string name, CancellationToken cancellationToken = default) =>
        provider.QueryAsync(PostgresSchema.ReadRelayLease, [Text(name)], async (reader, ct) =>
            await reader.ReadAsync(ct) ? new RelayLease(name, reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1)) : null,
            cancellationToken);
}

internal sealed class PostgresInboxStore(PostgresStorageProvider provider) : IInboxStore
{
    public Task<bool> ContainsAsync(InboxMark mark, CancellationToken cancellationToken = default) =>
        provider.QueryAsync(PostgresSchema.ContainsInbox, [Text(mark.Consumer), Text(mark.Source), Text(mark.EventId)],
            (reader, ct) => reader.ReadAsync(ct), cancellationToken);

    public async Task<bool> TryRecordAsync(InboxMark mark, CancellationToken cancellationToken = default) =>
        await provider.ExecuteAsync(PostgresSchema.InsertInbox, [Text(mark.Consumer), Text(mark.Source), Text(mark.EventId)], cancellationToken) == 1;

    public Task<long> PurgeAsync(DateTimeOffset recordedBefore, CancellationToken cancellationToken = default) =>
        provider.PurgeInChunksAsync(PostgresSchema.PurgeInbox, recordedBefore, cancellationToken);
}

internal sealed class PostgresDeadLetterStore(PostgresStorageProvider provider) : IDeadLetterStore
{
    public async Task<long> AddAsync(DeadLetter letter, CancellationToken cancellationToken = default)
    {
        await using var command = provider.Command(PostgresSchema.InsertDeadLetter, Text(letter.Consumer), Text(letter.Source),
            Text(letter.EventId), Text(letter.EventType), Text(letter.Topic), Text(letter.CourtyardId), Text(letter.CloudEventJson),
            Text(letter.LastError), Integer(letter.Attempts), Timestamp(letter.DeadAt));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public Task<IReadOnlyList<DeadLetter>> ListAsync(string? consumer, int max, CancellationToken cancellationToken = default) =>
        consumer is null
            ? provider.QueryAsync(PostgresSchema.ListDeadLetters, [Integer(max)], ReadAllAsync, cancellationToken)
            : provider.QueryAsync(PostgresSchema.ListDeadLettersOfConsumer, [Integer(max), Text(consumer)], ReadAllAsync, cancellationToken);

    public Task<DeadLetter?> GetAsync(long id, CancellationToken cancellationToken = default) =>
        provider.QueryAsync(PostgresSchema.GetDeadLetter, [Bigint(id)],
            async (reader, ct) => await reader.ReadAsync(ct) ? ReadOne(reader) : null, cancellationToken);

    public async Task<bool> RemoveAsync(long id, CancellationToken cancellationToken = default) =>
        await provider.ExecuteAsync(PostgresSchema.DeleteDeadLetter, [Bigint(id)], cancellationToken) == 1;

    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var command = provider.Command(PostgresSchema.CountDeadLetters);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<IReadOnlyList<DeadLetter>> ReadAllAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var letters = new List<DeadLetter>();
        while (await reader.ReadAsync(cancellationToken)) letters.Add(ReadOne(reader));
        return letters;
    }

    private static DeadLetter ReadOne(NpgsqlDataReader reader) => new(reader.GetInt64(0), reader.GetString(1), reader.GetString(2),
        reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7), reader.GetString(8),
        reader.GetInt32(9), reader.GetFieldValue<DateTimeOffset>(10));
}

internal sealed class PostgresJournalStore(PostgresStorageProvider provider) : IJournalStore
{
    public async Task<JournalStream?> ReadAsync(string stream, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        var head = await provider.QueryAsync(PostgresSchema.ReadJournalHead, [Text(stream)], async (reader, ct) => await reader.ReadAsync(ct)
            ? (Version: reader.GetInt64(0), Snapshot: reader.IsDBNull(1) ? null : reader.GetFieldValue<byte[]>(1), SnapshotVersion: reader.GetInt64(2),
                LastBatch: reader.GetGuid(3))
            : default((long Version, byte[]? Snapshot, long SnapshotVersion, Guid LastBatch)?), cancellationToken);
        if (head is not { } found) return null;
        // Events committed after the head was read are beyond found.Version and left out.
        var events = await provider.QueryAsync(PostgresSchema.ReadJournalEvents, [Text(stream), Bigint(found.SnapshotVersion), Bigint(found.Version)],
            async (reader, ct) =>
            {
                var list = new List<byte[]>();
                while (await reader.ReadAsync(ct)) list.Add(reader.GetFieldValue<byte[]>(0));
                return list;
            }, cancellationToken);
        return new JournalStream(stream, found.Version, found.Snapshot, found.SnapshotVersion, events, found.LastBatch);
    }

    public Task<WriteResult> AppendAsync(JournalAppend append, CancellationToken cancellationToken = default)
    {
        JournalAppendValidation.Validate(append);
        return provider.WriteAsync(new PendingJournalAppend(append), cancellationToken);
    }

    public async Task<IReadOnlyList<JournalEvent>> ReadEventsAsync(string stream, long afterVersion, int max, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        return await provider.QueryAsync(PostgresSchema.ReadJournalRows, [Text(stream), Bigint(afterVersion), Integer(max)], async (reader, ct) =>
        {
            var rows = new List<JournalEvent>();
            while (await reader.ReadAsync(ct)) rows.Add(new JournalEvent(reader.GetInt64(0), reader.GetFieldValue<byte[]>(1)));
            return rows;
        }, cancellationToken);
    }
}

/// <summary>This database's reminders as Orleans' reminder service reads and writes them; the ETag is new at each upsert.</summary>
internal sealed class PostgresReminderTable(PostgresStorageProvider provider) : Orleans.IReminderTable
{
    public Task<Orleans.ReminderTableData> ReadRows(Orleans.Runtime.GrainId grainId) =>
        provider.QueryAsync(PostgresSchema.ReadRemindersOfGrain, [Text(grainId.ToString())], ReadAllAsync, CancellationToken.None);

    public Task<Orleans.ReminderTableData> ReadRows(uint begin, uint end) =>
        provider.QueryAsync(begin < end ? PostgresSchema.ReadRemindersInRange : PostgresSchema.ReadRemindersOutsideRange,
            [Bigint(begin), Bigint(end)], ReadAllAsync, CancellationToken.None);

    public Task<Orleans.ReminderEntry?> ReadRow(Orleans.Runtime.GrainId grainId, string reminderName) =>
        provider.QueryAsync(PostgresSchema.ReadReminder, [Text(grainId.ToString()), Text(reminderName)],
            async (reader, ct) => await reader.ReadAsync(ct) ? ReminderRows.Read(reader) : null, CancellationToken.None);

    public async Task<string?> UpsertRow(Orleans.ReminderEntry entry)
    {
        var etag = ReminderRows.NewETag();
        await provider.ExecuteAsync(PostgresSchema.UpsertReminder, [Text(entry.GrainId.ToString()), Text(entry.ReminderName),
            Bigint(entry.GrainId.GetUniformHashCode()),
            Timestamp(StorageTime.FromUnixMicroseconds(ReminderRows.StartAt(entry))), Bigint(entry.Period.Ticks), Bigint(etag)], CancellationToken.None);
        return ReminderRows.ETag(etag);
    }

    public async Task<bool> RemoveRow(Orleans.Runtime.GrainId grainId, string reminderName, string eTag) =>
        ReminderRows.TryParseETag(eTag, out var version)
        && await provider.ExecuteAsync(PostgresSchema.DeleteReminder, [Text(grainId.ToString()), Text(reminderName), Bigint(version)], CancellationToken.None) == 1;

    public Task TestOnlyClearTable() => provider.ExecuteAsync(PostgresSchema.ClearReminders, [], CancellationToken.None);

    private static async Task<Orleans.ReminderTableData> ReadAllAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var entries = new List<Orleans.ReminderEntry>();
        while (await reader.ReadAsync(cancellationToken)) entries.Add(ReminderRows.Read(reader));
        return new Orleans.ReminderTableData(entries);
    }
}
