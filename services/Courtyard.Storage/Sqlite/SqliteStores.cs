using Microsoft.Data.Sqlite;

namespace Courtyard.Storage.Sqlite;

internal sealed class SqliteStateStore(SqliteStorageProvider provider) : IStateStore
{
    public Task<StoredState?> ReadAsync(string stateType, string key, CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.ReadState, [stateType, key],
            reader => reader.Read() ? new StoredState(stateType, key, reader.GetFieldValue<byte[]>(0), reader.GetInt64(1)) : null,
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

internal sealed class SqliteReminderStore(SqliteStorageProvider provider) : IReminderStore
{
    public Task UpsertAsync(ReminderRecord reminder, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Execute(SqliteSchema.UpsertReminder, reminder.GrainType, reminder.Key, reminder.Name,
            StorageTime.ToUnixMicroseconds(reminder.DueAt), PeriodValue(reminder.Period)), cancellationToken);

    public Task<bool> RemoveAsync(string grainType, string key, string name, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Execute(SqliteSchema.DeleteReminder, grainType, key, name) == 1, cancellationToken);

    public Task<bool> TryRemoveAsync(ReminderRecord reminder, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Execute(SqliteSchema.DeleteReminderIfDue, reminder.GrainType, reminder.Key, reminder.Name,
            StorageTime.ToUnixMicroseconds(reminder.DueAt)) == 1, cancellationToken);

    public Task<IReadOnlyList<ReminderRecord>> ListAsync(string grainType, string key, CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.ListReminders, [grainType, key], ReadAll, cancellationToken);

    public Task<IReadOnlyList<ReminderRecord>> ReadDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default) =>
        provider.ReadAsync(SqliteSchema.ReadDueReminders, [StorageTime.ToUnixMicroseconds(now), max], ReadAll, cancellationToken);

    public Task<bool> TryRescheduleAsync(ReminderRecord reminder, DateTimeOffset newDueAt, CancellationToken cancellationToken = default) =>
        provider.WriteAsync(writer => writer.Execute(SqliteSchema.RescheduleReminder, reminder.GrainType, reminder.Key, reminder.Name,
            StorageTime.ToUnixMicroseconds(reminder.DueAt), StorageTime.ToUnixMicroseconds(newDueAt)) == 1, cancellationToken);

    private static object? PeriodValue(TimeSpan? period) => period is { } p ? StorageTime.Normalize(p).Ticks / 10 : null;

    private static IReadOnlyList<ReminderRecord> ReadAll(SqliteDataReader reader)
    {
        var reminders = new List<ReminderRecord>();
        while (reader.Read())
        {
            reminders.Add(new ReminderRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                StorageTime.FromUnixMicroseconds(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : TimeSpan.FromTicks(reader.GetInt64(4) * 10)));
        }
        return reminders;
    }
}
