using Microsoft.Data.Sqlite;

namespace Courtyard.Storage.Sqlite;

/// <summary>A queued SQLite write: applied by the single writer connection inside a batch transaction.</summary>
internal abstract class SqliteOperation : PendingOperation
{
    /// <summary>Applies the operation and records its outcome. Throws only for unexpected errors (the batch is then
    /// rolled back and every operation retried in a transaction of its own).</summary>
    internal abstract void Apply(SqliteWriter writer);

    internal abstract void RecordError(Exception error);
}

internal sealed class SqliteOperation<TResult>(Func<SqliteWriter, TResult> apply) : SqliteOperation
{
    private readonly Outcome<TResult> outcome = new();

    public Task<TResult> Task => outcome.Task;

    internal override void Apply(SqliteWriter writer)
    {
        try
        {
            outcome.Succeed(apply(writer));
        }
        catch (Orleans.Storage.InconsistentStateException conflict)
        {
            outcome.Reject(conflict);
        }
    }

    internal override void RecordError(Exception error) => outcome.Reject(error);
    internal override void Publish() => outcome.Publish();
    internal override void Fail(Exception error) => outcome.Fail(error);
    private protected override void Cancel(CancellationToken token) => outcome.Cancel(token);
}

/// <summary>
/// The one connection that writes to the database file. Every mutation of every store runs here, in batches of one
/// transaction each (SQLite has a single writer anyway; queuing avoids lock contention and shares each fsync).
/// Not thread-safe: only the group-commit loop uses it.
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    private readonly SqliteConnection connection;
    private readonly Func<Task>? beforeCommitCompletes;
    private readonly Dictionary<string, SqliteCommand> commands = new(StringComparer.Ordinal);
    private SqliteTransaction? transaction;

    public SqliteWriter(SqliteConnection connection, Func<Task>? beforeCommitCompletes = null)
    {
        this.connection = connection;
        this.beforeCommitCompletes = beforeCommitCompletes;
    }

    /// <summary>Whether the last committed batch appended outbox rows (the provider then wakes the relay).</summary>
    public bool CommittedOutboxRows { get; private set; }

    private bool outboxRowsInTransaction;

    /// <summary>The group-commit step: one transaction for the whole batch; on an unexpected error, each alone.</summary>
    public void CommitBatch(List<SqliteOperation> batch)
    {
        CommittedOutboxRows = false;
        try
        {
            outboxRowsInTransaction = false;
            using (transaction = connection.BeginTransaction())
            {
                foreach (var operation in batch) operation.Apply(this);
                Commit();
            }
            transaction = null;
            return;
        }
        catch (Exception)
        {
            transaction = null;
        }
        // One bad write must not fail its neighbours: redo them one transaction each, recording each one's own error.
        foreach (var operation in batch)
        {
            try
            {
                outboxRowsInTransaction = false;
                using (transaction = connection.BeginTransaction())
                {
                    operation.Apply(this);
                    Commit();
                }
            }
            catch (Exception error)
            {
                operation.RecordError(error);
            }
            finally
            {
                transaction = null;
            }
        }
    }

    private void Commit()
    {
        beforeCommitCompletes?.Invoke().GetAwaiter().GetResult();
        transaction!.Commit();
        CommittedOutboxRows |= outboxRowsInTransaction;
    }

    public WriteResult WriteState(StateWrite write)
    {
        var now = StorageTime.NowUnixMicroseconds();
        if (write.Consumes is { } mark && !InsertInboxMark(mark, now))
            return new WriteResult(WriteOutcome.AlreadyConsumed, write.ExpectedVersion, []);

        var newVersion = ApplyStateChange(write, now);
        if (newVersion is null)
        {
            // Nothing of a failed write may remain, including the inbox mark recorded just above.
            if (write.Consumes is { } consumed) DeleteInboxMark(consumed);
            throw VersionConflict.Create(write.StateType, write.Key, write.ExpectedVersion, ReadVersion(write.StateType, write.Key));
        }
        return new WriteResult(WriteOutcome.Committed, newVersion.Value, AppendOutbox(write.Outbox, now));
    }

    /// <summary>The row's version after the change, or null when the stored version was not the expected one.</summary>
    private long? ApplyStateChange(StateWrite write, long now)
    {
        if (write.Data is null)
        {
            // Clearing keeps a tombstone at the next version; a state that never existed stays absent.
            if (write.ExpectedVersion == 0) return ReadVersion(write.StateType, write.Key) is null ? 0 : null;
            return Execute(SqliteSchema.ClearState, write.StateType, write.Key, write.ExpectedVersion, now) == 1 ? write.ExpectedVersion + 1 : null;
        }
        if (write.ExpectedVersion == 0)
            return Execute(SqliteSchema.InsertState, write.StateType, write.Key, write.Data, now) == 1 ? 1 : null;
        return Execute(SqliteSchema.UpdateState, write.StateType, write.Key, write.Data, now, write.ExpectedVersion) == 1
            ? write.ExpectedVersion + 1
            : null;
    }

    public IReadOnlyList<long> AppendOutbox(IReadOnlyList<OutboxMessage> messages, long now)
    {
        if (messages.Count == 0) return [];
        outboxRowsInTransaction = true;
        var ids = new long[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            ids[i] = Scalar<long>(SqliteSchema.InsertOutbox, m.CourtyardId, m.Topic, m.EventType, m.Payload, m.TraceParent, now);
        }
        return ids;
    }

    public WriteResult AppendJournal(JournalAppend append)
    {
        var now = StorageTime.NowUnixMicroseconds();
        if (append.Consumes is { } mark && !InsertInboxMark(mark, now))
            return new WriteResult(WriteOutcome.AlreadyConsumed, append.ExpectedVersion, []);

        var newVersion = append.ExpectedVersion + append.Events.Count;
        var batch = append.BatchId.ToByteArray();
        var moved = append.ExpectedVersion == 0
            ? Execute(SqliteSchema.InsertJournalHead, append.Stream, newVersion, append.Snapshot, 0L, batch, now)
            : Execute(SqliteSchema.AdvanceJournalHead, append.Stream, newVersion, append.Snapshot, append.ExpectedVersion, batch, now, append.ExpectedVersion);
        if (moved != 1)
        {
            if (append.Consumes is { } consumed) DeleteInboxMark(consumed);
            var stored = Prepare(SqliteSchema.ReadJournalVersion, [append.Stream]);
            long? storedVersion;
            try
            {
                storedVersion = stored.ExecuteScalar() is long version ? version : null;
            }
            finally
            {
                Release(stored);
            }
            throw VersionConflict.Create("journal", append.Stream, append.ExpectedVersion, storedVersion);
        }
        for (var i = 0; i < append.Events.Count; i++)
            Execute(SqliteSchema.InsertJournalEvent, append.Stream, append.ExpectedVersion + 1 + i, append.Events[i]);
        return new WriteResult(WriteOutcome.Committed, newVersion, AppendOutbox(append.Outbox, now));
    }

    public bool InsertInboxMark(InboxMark mark, long now) =>
        Execute(SqliteSchema.InsertInbox, mark.Consumer, mark.Source, mark.EventId, now) == 1;

    private void DeleteInboxMark(InboxMark mark) => Execute(SqliteSchema.DeleteInbox, mark.Consumer, mark.Source, mark.EventId);

    private long? ReadVersion(string stateType, string key)
    {
        var command = Prepare(SqliteSchema.ReadVersion, [stateType, key]);
        try
        {
            return command.ExecuteScalar() is long version ? version : null;
        }
        finally
        {
            Release(command);
        }
    }

    /// <summary>Runs a statement with positional parameters ($1, $2, ...), returning the number of rows changed.</summary>
    public int Execute(string sql, params object?[] values)
    {
        var command = Prepare(sql, values);
        try
        {
            return command.ExecuteNonQuery();
        }
        finally
        {
            Release(command);
        }
    }

    public T Scalar<T>(string sql, params object?[] values)
    {
        var command = Prepare(sql, values);
        try
        {
            return (T)command.ExecuteScalar()!;
        }
        finally
        {
            Release(command);
        }
    }

    // Statements are compiled once and reused: only the parameter values change between executions.
    private SqliteCommand Prepare(string sql, object?[] values)
    {
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < values.Length; i++) command.Parameters.Add(new SqliteParameter("$" + (i + 1), null));
            commands.Add(sql, command);
        }
        command.Transaction = transaction;
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i] ?? DBNull.Value;
        return command;
    }

    // Cached commands must not keep the last state blob alive.
    private static void Release(SqliteCommand command)
    {
        foreach (SqliteParameter parameter in command.Parameters) parameter.Value = DBNull.Value;
    }

    public void Dispose()
    {
        foreach (var command in commands.Values) command.Dispose();
        commands.Clear();
        connection.Dispose();
    }
}
