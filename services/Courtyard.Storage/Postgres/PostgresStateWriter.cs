using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Courtyard.Storage.Postgres;

/// <summary>A state write or a journal append waiting for a batch; both are one statement of the batch.</summary>
internal abstract class PendingPostgresWrite : PendingOperation
{
    public Outcome<WriteResult> Outcome { get; } = new();

    /// <summary>The row the write changes (sorting batches by it keeps replicas from deadlocking).</summary>
    public abstract (string Table, string Key) Row { get; }
    public abstract InboxMark? Consumes { get; }
    public abstract long ExpectedVersion { get; }
    public abstract bool HasOutbox { get; }

    /// <summary>The write as one statement; <paramref name="checkInbox"/> false when the mark was recorded beforehand.</summary>
    public abstract NpgsqlBatchCommand CreateCommand(bool checkInbox);

    /// <summary>The version stored now, for a conflict's message.</summary>
    public abstract NpgsqlCommand ReadStoredVersion(NpgsqlDataSource dataSource);

    public abstract Orleans.Storage.InconsistentStateException Conflict(long? storedVersion);

    internal override void Publish() => Outcome.Publish();
    internal override void Fail(Exception error) => Outcome.Fail(error);
    private protected override void Cancel(CancellationToken token) => Outcome.Cancel(token);
}

internal sealed class PendingStateWrite(StateWrite write) : PendingPostgresWrite
{
    public StateWrite Write { get; } = write;
    public override (string Table, string Key) Row => (Write.StateType, Write.Key);
    public override InboxMark? Consumes => Write.Consumes;
    public override long ExpectedVersion => Write.ExpectedVersion;
    public override bool HasOutbox => Write.Outbox.Count > 0;
    public override NpgsqlBatchCommand CreateCommand(bool checkInbox) => PostgresStatements.StateWrite(Write, checkInbox);

    public override NpgsqlCommand ReadStoredVersion(NpgsqlDataSource dataSource)
    {
        var read = dataSource.CreateCommand(PostgresSchema.ReadStateVersion);
        read.Parameters.Add(PostgresStatements.Text(Write.StateType));
        read.Parameters.Add(PostgresStatements.Text(Write.Key));
        return read;
    }

    public override Orleans.Storage.InconsistentStateException Conflict(long? storedVersion) =>
        VersionConflict.Create(Write.StateType, Write.Key, Write.ExpectedVersion, storedVersion);
}

internal sealed class PendingJournalAppend(JournalAppend append) : PendingPostgresWrite
{
    public JournalAppend Append { get; } = append;
    public override (string Table, string Key) Row => ("\u0001journal", Append.Stream);
    public override InboxMark? Consumes => Append.Consumes;
    public override long ExpectedVersion => Append.ExpectedVersion;
    public override bool HasOutbox => Append.Outbox.Count > 0;
    public override NpgsqlBatchCommand CreateCommand(bool checkInbox) => PostgresStatements.JournalAppend(Append, checkInbox);

    public override NpgsqlCommand ReadStoredVersion(NpgsqlDataSource dataSource)
    {
        var read = dataSource.CreateCommand(PostgresSchema.ReadJournalVersion);
        read.Parameters.Add(PostgresStatements.Text(Append.Stream));
        return read;
    }

    public override Orleans.Storage.InconsistentStateException Conflict(long? storedVersion) =>
        VersionConflict.Create("journal", Append.Stream, Append.ExpectedVersion, storedVersion);
}

/// <summary>
/// Commits a batch of writes in ONE round trip: an NpgsqlBatch without an explicit transaction runs as one implicit
/// transaction that the server commits (durably) before answering the final Sync. Each write is a single statement
/// (see <see cref="PostgresStatements"/>), so a conflicting write leaves nothing behind and raises no error.
/// Statements run in order, so two writes to one key in a batch behave as if sequential.
/// <para>
/// When the batch fails, what happens depends on whether the outcome is certain. A <see cref="PostgresException"/> is the
/// server's answer: the implicit transaction rolled back, so each write is redone alone (one bad write must not fail
/// its neighbours), within <see cref="StorageOptions.PostgresRedoTimeout"/>. Any other error after the batch was sent
/// (the connection dropped, a timeout) may have come after the server committed: every write of the batch fails with
/// <see cref="StorageOutcomeUnknownException"/>, never with a conflict that would claim "nothing was written".
/// </para>
/// </summary>
internal sealed class PostgresStateWriter(NpgsqlDataSource dataSource, StorageOptions options, OutboxCommitSignal outboxCommits)
{
    public async Task CommitBatchAsync(List<PendingPostgresWrite> batch)
    {
        // A stable order by row makes concurrent batches (of several replicas) lock rows in the same order, so they
        // cannot deadlock; writes to one row keep their relative order.
        IReadOnlyList<PendingPostgresWrite> ordered = batch.Count == 1
            ? batch
            : batch.OrderBy(p => p.Row.Table, StringComparer.Ordinal).ThenBy(p => p.Row.Key, StringComparer.Ordinal).ToList();
        var sent = false;
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var command = new NpgsqlBatch(connection);
            var takesXidFirst = TakeTransactionIdFirstIfOutbox(command, ordered);
            foreach (var pending in ordered) command.BatchCommands.Add(pending.CreateCommand(checkInbox: true));
            sent = true;
            await using (var reader = await command.ExecuteReaderAsync())
            {
                for (var i = 0; i < ordered.Count; i++)
                {
                    if (i > 0 || takesXidFirst) await reader.NextResultAsync();
                    Record(ordered[i], await reader.ReadAsync() ? reader : null);
                }
                if (options.BeforeCommitCompletes is { } gate) await gate();
                // Disposing the reader consumes the rest up to ReadyForQuery, i.e. past the commit.
            }
        }
        catch (Exception error) when (error is PostgresException || !sent)
        {
            // Certain: nothing of the batch was committed (the server refused it, or it was never sent).
            await RedoAloneAsync(ordered);
            return;
        }
        catch (Exception error)
        {
            throw OutcomeUnknown(error);
        }
        SignalOutbox(ordered);
        await FillStoredVersionsAsync(ordered);
    }

    private async Task RedoAloneAsync(IReadOnlyList<PendingPostgresWrite> ordered)
    {
        using var deadline = new CancellationTokenSource(options.PostgresRedoTimeout);
        foreach (var pending in ordered) await CommitAloneAsync(pending, deadline.Token);
        SignalOutbox(ordered);
        await FillStoredVersionsAsync(ordered);
    }

    /// <summary>The careful path, one transaction per write: record the inbox mark first (waiting on concurrent ones), then the write.</summary>
    private async Task CommitAloneAsync(PendingPostgresWrite pending, CancellationToken deadline)
    {
        var sent = false;
        try
        {
            deadline.ThrowIfCancellationRequested();
            await using var connection = await dataSource.OpenConnectionAsync(deadline);
            await using var transaction = await connection.BeginTransactionAsync(deadline);
            if (pending.HasOutbox)
            {
                await using var takeXid = new NpgsqlCommand(PostgresOutboxOrdering.TakeTransactionIdFirst, connection, transaction);
                await takeXid.ExecuteScalarAsync(deadline);
            }
            if (pending.Consumes is { } mark)
            {
                await using var insertMark = new NpgsqlCommand(PostgresSchema.InsertInbox, connection, transaction);
                insertMark.Parameters.Add(PostgresStatements.Text(mark.Consumer));
                insertMark.Parameters.Add(PostgresStatements.Text(mark.Source));
                insertMark.Parameters.Add(PostgresStatements.Text(mark.EventId));
                if (await insertMark.ExecuteNonQueryAsync(deadline) == 0)
                {
                    await transaction.RollbackAsync(deadline);
                    pending.Outcome.Succeed(new WriteResult(WriteOutcome.AlreadyConsumed, pending.ExpectedVersion, []));
                    return;
                }
            }
            await using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(pending.CreateCommand(checkInbox: false));
            await using (var reader = await batch.ExecuteReaderAsync(deadline))
            {
                Record(pending, await reader.ReadAsync(deadline) ? reader : null);
            }
            if (pending.Outcome.HasError)
            {
                await transaction.RollbackAsync(deadline);
                return;
            }
            sent = true;
            await transaction.CommitAsync(deadline);
        }
        catch (Exception error) when (!sent || error is PostgresException)
        {
            // Before COMMIT was sent (or refused by the server): nothing of this write is kept.
            pending.Outcome.Reject(deadline.IsCancellationRequested
                ? new TimeoutException($"The write was not committed: redoing its batch took longer than {options.PostgresRedoTimeout.TotalSeconds:0} s.", error)
                : error);
        }
        catch (Exception error)
        {
            pending.Outcome.Reject(OutcomeUnknown(error));
        }
    }

    private static StorageOutcomeUnknownException OutcomeUnknown(Exception error) => new(
        "The connection to PostgreSQL failed after the write was sent; it may or may not have been committed. " +
        $"Reload before deciding anything. ({error.GetType().Name}: {error.Message})", error);

    private void SignalOutbox(IReadOnlyList<PendingPostgresWrite> writes)
    {
        foreach (var pending in writes)
        {
            if (pending.HasOutbox && !pending.Outcome.HasError)
            {
                outboxCommits.Raise();
                return;
            }
        }
    }

    /// <summary>Events' ordering rule (PostgresOutboxOrdering): a batch that inserts outbox rows takes its xid first.</summary>
    private static bool TakeTransactionIdFirstIfOutbox(NpgsqlBatch batch, IEnumerable<PendingPostgresWrite> writes)
    {
        if (!writes.Any(w => w.HasOutbox)) return false;
        batch.BatchCommands.Add(new NpgsqlBatchCommand(PostgresOutboxOrdering.TakeTransactionIdFirst));
        return true;
    }

    /// <summary>Records the write's outcome from its result row (null: a plain write that matched no row, i.e. a conflict).</summary>
    private static void Record(PendingPostgresWrite pending, NpgsqlDataReader? row)
    {
        if (row is not null && row.GetBoolean(1))
        {
            pending.Outcome.Succeed(new WriteResult(WriteOutcome.AlreadyConsumed, pending.ExpectedVersion, []));
            return;
        }
        if (row is null || row.IsDBNull(0))
        {
            pending.Outcome.Reject(new PendingConflict());
            return;
        }
        pending.Outcome.Succeed(new WriteResult(WriteOutcome.Committed, row.GetInt64(0), row.GetFieldValue<long[]>(3)));
    }

    /// <summary>Turns recorded conflicts into Orleans' InconsistentStateExceptions with the version now stored.</summary>
    private async Task FillStoredVersionsAsync(IReadOnlyList<PendingPostgresWrite> pendings)
    {
        foreach (var pending in pendings)
        {
            if (pending.Outcome.Error is not PendingConflict) continue;
            long? stored;
            try
            {
                await using var read = pending.ReadStoredVersion(dataSource);
                stored = await read.ExecuteScalarAsync() is long version ? version : null;
            }
            catch (Exception)
            {
                stored = null; // informative only: the conflict itself is certain
            }
            pending.Outcome.Reject(pending.Conflict(stored));
        }
    }

    /// <summary>A conflict recorded during the batch, completed with the stored version once the batch is over.</summary>
    private sealed class PendingConflict : Exception;
}

/// <summary>
/// The statement of each write. A plain state write is one versioned INSERT/UPDATE; a write with an inbox mark or
/// outbox rows, and every journal append, is one statement whose CTEs do the inbox check, the versioned change, the
/// mark and the outbox rows, each gated on the previous part. Every shape is built once: auto-prepare then keeps each
/// one prepared on every connection.
/// Result columns: new_version (null: conflict), already_seen, (unused, null), outbox_ids. A plain write returns no
/// row on conflict. The stored version a conflict reports is read after the batch.
/// </summary>
internal static class PostgresStatements
{
    private enum Change { Insert, Update, Clear, ClearAbsent, JournalStart, JournalAdvance }

    private static readonly string[] Shapes = BuildAllShapes();

    public static NpgsqlBatchCommand StateWrite(StateWrite write, bool checkInbox)
    {
        var change = (write.Data is null, write.ExpectedVersion == 0) switch
        {
            (false, true) => Change.Insert,
            (false, false) => Change.Update,
            (true, false) => Change.Clear,
            (true, true) => Change.ClearAbsent,
        };
        var withInbox = checkInbox && write.Consumes is not null;
        var command = new NpgsqlBatchCommand(Shapes[ShapeIndex(change, withInbox, write.Outbox.Count > 0)]);
        var parameters = command.Parameters;
        parameters.Add(Text(write.StateType));
        parameters.Add(Text(write.Key));
        if (change is Change.Insert or Change.Update) parameters.Add(Bytea(write.Data));
        if (change is Change.Update or Change.Clear) parameters.Add(Bigint(write.ExpectedVersion));
        AddEffects(parameters, withInbox ? write.Consumes : null, write.Outbox);
        return command;
    }

    public static NpgsqlBatchCommand JournalAppend(JournalAppend append, bool checkInbox)
    {
        var change = append.ExpectedVersion == 0 ? Change.JournalStart : Change.JournalAdvance;
        var withInbox = checkInbox && append.Consumes is not null;
        var command = new NpgsqlBatchCommand(Shapes[ShapeIndex(change, withInbox, append.Outbox.Count > 0)]);
        var parameters = command.Parameters;
        parameters.Add(Text(append.Stream));
        parameters.Add(Bigint(append.ExpectedVersion + append.Events.Count));
        parameters.Add(Bigint(append.ExpectedVersion));
        parameters.Add(Bytea(append.Snapshot));
        parameters.Add(new NpgsqlParameter<Guid> { NpgsqlDbType = NpgsqlDbType.Uuid, TypedValue = append.BatchId });
        parameters.Add(new NpgsqlParameter<byte[][]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea, TypedValue = append.Events.ToArray() });
        AddEffects(parameters, withInbox ? append.Consumes : null, append.Outbox);
        return command;
    }

    private static void AddEffects(NpgsqlParameterCollection parameters, InboxMark? mark, IReadOnlyList<OutboxMessage> outbox)
    {
        if (mark is not null)
        {
            parameters.Add(Text(mark.Consumer));
            parameters.Add(Text(mark.Source));
            parameters.Add(Text(mark.EventId));
        }
        if (outbox.Count > 0)
        {
            parameters.Add(TextArray(outbox.Select(m => m.CourtyardId)));
            parameters.Add(TextArray(outbox.Select(m => m.Topic)));
            parameters.Add(TextArray(outbox.Select(m => m.EventType)));
            parameters.Add(TextArray(outbox.Select(m => m.Payload)));
            parameters.Add(TextArray(outbox.Select(m => m.TraceParent)));
        }
    }

    internal static NpgsqlParameter<string> Text(string value) => new() { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = value };

    internal static NpgsqlParameter<long> Bigint(long value) => new() { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = value };

    private static NpgsqlParameter Bytea(byte[]? value) => value is null
        ? new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = DBNull.Value }
        : new NpgsqlParameter<byte[]> { NpgsqlDbType = NpgsqlDbType.Bytea, TypedValue = value };

    internal static NpgsqlParameter<string?[]> TextArray(IEnumerable<string?> values) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = values.ToArray() };

    private static int ShapeIndex(Change change, bool withInbox, bool withOutbox) => (int)change * 4 + (withInbox ? 2 : 0) + (withOutbox ? 1 : 0);

    private static string[] BuildAllShapes()
    {
        var shapes = new string[Enum.GetValues<Change>().Length * 4];
        foreach (var change in Enum.GetValues<Change>())
        {
            foreach (var withInbox in new[] { false, true })
            {
                foreach (var withOutbox in new[] { false, true })
                    shapes[ShapeIndex(change, withInbox, withOutbox)] = BuildShape(change, withInbox, withOutbox);
            }
        }
        return shapes;
    }

    // Parameters, numbered in this order and only those the shape uses:
    //   state:   $1 state_type, $2 key, data (insert/update), expected version (update/clear);
    //   journal: $1 stream, $2 new version, $3 expected version, $4 snapshot (or null), $5 batch id, $6 events (bytea[]);
    //   then the inbox mark (3) and the outbox columns as arrays (5).
    private static string BuildShape(Change change, bool withInbox, bool withOutbox)
    {
        var journal = change is Change.JournalStart or Change.JournalAdvance;
        var next = journal ? 6 : 2;
        string Parameter() => "$" + ++next;
        var data = change is Change.Insert or Change.Update ? Parameter() : null;
        var expected = change is Change.Update or Change.Clear ? Parameter() : null;
        const string leanColumns = "false, NULL::bigint, '{}'::bigint[]";
        if (!withInbox && !withOutbox && !journal && change != Change.ClearAbsent)
        {
            return change switch
            {
                Change.Insert => $"INSERT INTO grain_state (state_type, key, data, version) VALUES ($1, $2, {data}, 1) ON CONFLICT DO NOTHING RETURNING version, {leanColumns}",
                Change.Update => $"UPDATE grain_state SET data = {data}, version = version + 1, updated_at = now() WHERE state_type = $1 AND key = $2 AND version = {expected} RETURNING version, {leanColumns}",
                _ => $"UPDATE grain_state SET data = NULL, version = version + 1, updated_at = now() WHERE state_type = $1 AND key = $2 AND version = {expected} RETURNING version, {leanColumns}",
            };
        }
        var notSeen = withInbox ? " AND NOT EXISTS (SELECT 1 FROM seen)" : "";
        var sql = new StringBuilder("WITH ");
        string consumer = "", source = "", eventId = "";
        if (withInbox)
        {
            (consumer, source, eventId) = (Parameter(), Parameter(), Parameter());
            sql.Append($"seen AS (SELECT 1 FROM inbox WHERE consumer = {consumer} AND source = {source} AND event_id = {eventId}), ");
        }
        sql.Append(change switch
        {
            Change.Insert => $"st AS (INSERT INTO grain_state (state_type, key, data, version) SELECT $1, $2, {data}, 1 WHERE TRUE{notSeen} ON CONFLICT DO NOTHING RETURNING version)",
            Change.Update => $"st AS (UPDATE grain_state SET data = {data}, version = version + 1, updated_at = now() WHERE state_type = $1 AND key = $2 AND version = {expected}{notSeen} RETURNING version)",
            Change.Clear => $"st AS (UPDATE grain_state SET data = NULL, version = version + 1, updated_at = now() WHERE state_type = $1 AND key = $2 AND version = {expected}{notSeen} RETURNING version)",
            Change.ClearAbsent => $"st AS (SELECT 0::bigint AS version WHERE NOT EXISTS (SELECT 1 FROM grain_state WHERE state_type = $1 AND key = $2){notSeen})",
            Change.JournalStart =>
                $"st AS (INSERT INTO journal_streams (stream, version, snapshot, snapshot_version, last_batch) SELECT $1, $2, $4::bytea, $3, $5 WHERE TRUE{notSeen} ON CONFLICT DO NOTHING RETURNING version)",
            _ =>
                "st AS (UPDATE journal_streams SET version = $2, last_batch = $5, updated_at = now(), snapshot = COALESCE($4::bytea, snapshot), " +
                $"snapshot_version = CASE WHEN $4::bytea IS NULL THEN snapshot_version ELSE $3 END WHERE stream = $1 AND version = $3{notSeen} RETURNING version)",
        });
        if (journal)
        {
            sql.Append(", ev AS (INSERT INTO journal_events (stream, version, data) SELECT $1, $3 + e.ordinal, e.data ")
               .Append("FROM unnest($6::bytea[]) WITH ORDINALITY AS e(data, ordinal) WHERE EXISTS (SELECT 1 FROM st) RETURNING 1)");
        }
        if (withInbox)
            sql.Append($", mark AS (INSERT INTO inbox (consumer, source, event_id) SELECT {consumer}, {source}, {eventId} WHERE EXISTS (SELECT 1 FROM st) ON CONFLICT DO NOTHING RETURNING 1)");
        if (withOutbox)
        {
            var (partition, topic, eventType, payload, traceParent) = (Parameter(), Parameter(), Parameter(), Parameter(), Parameter());
            sql.Append(", ob AS (INSERT INTO outbox (partition, topic, event_type, payload, trace_parent) ")
               .Append("SELECT m.partition, m.topic, m.event_type, m.payload, m.trace_parent ")
               .Append($"FROM unnest({partition}::text[], {topic}::text[], {eventType}::text[], {payload}::text[], {traceParent}::text[]) WITH ORDINALITY ")
               .Append("AS m(partition, topic, event_type, payload, trace_parent, ordinal) ")
               .Append("WHERE EXISTS (SELECT 1 FROM st) ORDER BY m.ordinal RETURNING id)");
        }
        sql.Append(" SELECT (SELECT version FROM st), ");
        // The mark was recorded by a concurrent transaction after this statement's snapshot: the change must not
        // commit, so abort the batch (the error is the only way out of an implicit transaction) and redo it alone.
        sql.Append(withInbox
            ? "CASE WHEN EXISTS (SELECT 1 FROM st) AND NOT EXISTS (SELECT 1 FROM mark) THEN courtyard_retry_alone() ELSE EXISTS (SELECT 1 FROM seen) END, "
            : "false, ");
        sql.Append("NULL::bigint, ")
           .Append(withOutbox ? "ARRAY(SELECT id FROM ob ORDER BY id)" : "'{}'::bigint[]");
        return sql.ToString();
    }
}
