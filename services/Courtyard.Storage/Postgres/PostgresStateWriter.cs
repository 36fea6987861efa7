using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Courtyard.Storage.Postgres;

internal sealed class PendingStateWrite(StateWrite write) : PendingOperation
{
    public StateWrite Write { get; } = write;
    public Outcome<WriteResult> Outcome { get; } = new();

    internal override void Publish() => Outcome.Publish();
    internal override void Fail(Exception error) => Outcome.Fail(error);
    private protected override void Cancel(CancellationToken token) => Outcome.Cancel(token);
}

/// <summary>
/// Commits a batch of state writes in ONE round trip: an NpgsqlBatch without an explicit transaction runs as one
/// implicit transaction that the server commits (durably) before answering the final Sync. Each write is a single
/// statement: a plain write is one versioned INSERT/UPDATE/DELETE; a write with an inbox mark or outbox rows is one
/// statement whose CTEs do the inbox check, the versioned change, the mark and the outbox rows, each gated on the
/// previous part - so a conflicting write leaves nothing behind and nothing raises an error inside the transaction.
/// Statements run in order, so two writes to one key in a batch behave as if sequential.
/// </summary>
internal sealed class PostgresStateWriter(NpgsqlDataSource dataSource)
{
    private enum Change { Insert, Update, Delete, DeleteAbsent }

    // Every statement shape, built once: auto-prepare then keeps each one prepared on every connection.
    private static readonly string[] Statements = BuildAllStatements();

    public async Task CommitBatchAsync(List<PendingStateWrite> batch)
    {
        // A stable order by key makes concurrent batches (of several replicas) lock rows in the same order, so they
        // cannot deadlock; writes to one key keep their relative order.
        IReadOnlyList<PendingStateWrite> ordered = batch.Count == 1
            ? batch
            : batch.OrderBy(p => p.Write.StateType, StringComparer.Ordinal).ThenBy(p => p.Write.Key, StringComparer.Ordinal).ToList();
        try
        {
            await CommitTogetherAsync(ordered);
        }
        catch (Exception)
        {
            // Nothing of the batch was committed. One bad write (or a concurrent inbox mark, or a lost connection)
            // must not fail its neighbours: redo each in a transaction of its own.
            foreach (var pending in ordered) await CommitAloneAsync(pending);
            return;
        }
        await FillStoredVersionsAsync(ordered);
    }

    private async Task CommitTogetherAsync(IReadOnlyList<PendingStateWrite> ordered)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection);
        var takesXidFirst = TakeTransactionIdFirstIfOutbox(batch, ordered.Select(p => p.Write));
        foreach (var pending in ordered) batch.BatchCommands.Add(CreateCommand(pending.Write, checkInbox: true));
        await using var reader = await batch.ExecuteReaderAsync();
        for (var i = 0; i < ordered.Count; i++)
        {
            if (i > 0 || takesXidFirst) await reader.NextResultAsync();
            Record(ordered[i], await reader.ReadAsync() ? reader : null);
        }
        // Disposing the reader consumes the rest up to ReadyForQuery, i.e. past the commit: only then are outcomes published.
    }

    /// <summary>The careful path, one transaction per write: record the inbox mark first (waiting on concurrent ones), then the state.</summary>
    private async Task CommitAloneAsync(PendingStateWrite pending)
    {
        var write = pending.Write;
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            if (write.Outbox.Count > 0)
            {
                await using var takeXid = new NpgsqlCommand(PostgresOutboxOrdering.TakeTransactionIdFirst, connection, transaction);
                await takeXid.ExecuteScalarAsync();
            }
            if (write.Consumes is { } mark)
            {
                await using var insertMark = new NpgsqlCommand(PostgresSchema.InsertInbox, connection, transaction);
                insertMark.Parameters.Add(Text(mark.Consumer));
                insertMark.Parameters.Add(Text(mark.Source));
                insertMark.Parameters.Add(Text(mark.EventId));
                if (await insertMark.ExecuteNonQueryAsync() == 0)
                {
                    await transaction.RollbackAsync();
                    pending.Outcome.Succeed(new WriteResult(WriteOutcome.AlreadyConsumed, write.ExpectedVersion, []));
                    return;
                }
            }
            await using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(CreateCommand(write, checkInbox: false));
            await using (var reader = await batch.ExecuteReaderAsync())
            {
                Record(pending, await reader.ReadAsync() ? reader : null);
            }
            if (pending.Outcome.HasError) await transaction.RollbackAsync();
            else await transaction.CommitAsync();
        }
        catch (Exception error)
        {
            pending.Outcome.Reject(error);
            return;
        }
        await FillStoredVersionsAsync([pending]);
    }

    /// <summary>Events' ordering rule (PostgresOutboxOrdering): a batch that inserts outbox rows takes its xid first.</summary>
    private static bool TakeTransactionIdFirstIfOutbox(NpgsqlBatch batch, IEnumerable<StateWrite> writes)
    {
        if (!writes.Any(w => w.Outbox.Count > 0)) return false;
        batch.BatchCommands.Add(new NpgsqlBatchCommand(PostgresOutboxOrdering.TakeTransactionIdFirst));
        return true;
    }

    /// <summary>Records the write's outcome from its result row (null: a plain write that matched no row, i.e. a conflict).</summary>
    private static void Record(PendingStateWrite pending, NpgsqlDataReader? row)
    {
        var write = pending.Write;
        if (row is not null && row.GetBoolean(1))
        {
            pending.Outcome.Succeed(new WriteResult(WriteOutcome.AlreadyConsumed, write.ExpectedVersion, []));
            return;
        }
        if (row is null || row.IsDBNull(0))
        {
            pending.Outcome.Reject(new PendingConflict());
            return;
        }
        pending.Outcome.Succeed(new WriteResult(WriteOutcome.Committed, row.GetInt64(0), row.GetFieldValue<long[]>(3)));
    }

    /// <summary>Turns recorded conflicts into <see cref="InconsistentStateException"/>s with the version now stored.</summary>
    private async Task FillStoredVersionsAsync(IReadOnlyList<PendingStateWrite> pendings)
    {
        foreach (var pending in pendings)
        {
            if (pending.Outcome.Error is not PendingConflict) continue;
            var write = pending.Write;
            long? stored;
            try
            {
                await using var read = dataSource.CreateCommand("SELECT version FROM grain_state WHERE state_type = $1 AND key = $2");
                read.Parameters.Add(Text(write.StateType));
                read.Parameters.Add(Text(write.Key));
                stored = await read.ExecuteScalarAsync() is long version ? version : null;
            }
            catch (Exception)
            {
                stored = null; // informative only: the conflict itself is certain
            }
            pending.Outcome.Reject(new InconsistentStateException(write.StateType, write.Key, write.ExpectedVersion, stored));
        }
    }

    /// <summary>A conflict recorded during the batch, completed with the stored version once the batch is over.</summary>
    private sealed class PendingConflict : Exception;

    private static NpgsqlBatchCommand CreateCommand(StateWrite write, bool checkInbox)
    {
        var change = ChangeOf(write);
        var withInbox = checkInbox && write.Consumes is not null;
        var withOutbox = write.Outbox.Count > 0;
        var command = new NpgsqlBatchCommand(Statements[ShapeIndex(change, withInbox, withOutbox)]);
        var parameters = command.Parameters;
        parameters.Add(Text(write.StateType));
        parameters.Add(Text(write.Key));
        if (change is Change.Insert or Change.Update) parameters.Add(new NpgsqlParameter<byte[]> { NpgsqlDbType = NpgsqlDbType.Bytea, TypedValue = write.Data });
        if (change is Change.Update or Change.Delete) parameters.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = write.ExpectedVersion });
        if (withInbox)
        {
            parameters.Add(Text(write.Consumes!.Consumer));
            parameters.Add(Text(write.Consumes.Source));
            parameters.Add(Text(write.Consumes.EventId));
        }
        if (withOutbox)
        {
            var messages = write.Outbox;
            parameters.Add(TextArray(messages.Select(m => m.CourtyardId)));
            parameters.Add(TextArray(messages.Select(m => m.Topic)));
            parameters.Add(TextArray(messages.Select(m => m.EventType)));
            parameters.Add(TextArray(messages.Select(m => m.Payload)));
            parameters.Add(TextArray(messages.Select(m => m.TraceParent)));
        }
        return command;
    }

    private static Change ChangeOf(StateWrite write) => (write.Data is null, write.ExpectedVersion == 0) switch
    {
        (false, true) => Change.Insert,
        (false, false) => Change.Update,
        (true, false) => Change.Delete,
        (true, true) => Change.DeleteAbsent,
    };

    internal static NpgsqlParameter<string> Text(string value) => new() { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = value };

    internal static NpgsqlParameter<string?[]> TextArray(IEnumerable<string?> values) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = values.ToArray() };

    private static int ShapeIndex(Change change, bool withInbox, bool withOutbox) => (int)change * 4 + (withInbox ? 2 : 0) + (withOutbox ? 1 : 0);

    private static string[] BuildAllStatements()
    {
        var statements = new string[16];
        foreach (var change in Enum.GetValues<Change>())
        {
            foreach (var withInbox in new[] { false, true })
            {
                foreach (var withOutbox in new[] { false, true })
                    statements[ShapeIndex(change, withInbox, withOutbox)] = BuildStatement(change, withInbox, withOutbox);
            }
        }
        return statements;
    }

    // Parameters: $1 state_type, $2 key, then data (insert/update), expected version (update/delete),
    // the inbox mark (3), the outbox columns as arrays (5) - numbered in that order, only those the shape uses.
    // Result columns: new_version (null: conflict), already_seen, (unused, null), outbox_ids. A plain write returns no
    // row on conflict. The stored version a conflict reports is read after the batch.
    private static string BuildStatement(Change change, bool withInbox, bool withOutbox)
    {
        var next = 2;
        string Parameter() => "$" + ++next;
        var data = change is Change.Insert or Change.Update ? Parameter() : null;
        var expected = change is Change.Update or Change.Delete ? Parameter() : null;
        const string leanColumns = "false, NULL::bigint, '{}'::bigint[]";
        if (!withInbox && !withOutbox && change != Change.DeleteAbsent)
        {
            return change switch
            {
                Change.Insert => $"INSERT INTO grain_state (state_type, key, data, version) VALUES ($1, $2, {data}, 1) ON CONFLICT DO NOTHING RETURNING version, {leanColumns}",
                Change.Update => $"UPDATE grain_state SET data = {data}, version = version + 1, updated_at = now() WHERE state_type = $1 AND key = $2 AND version = {expected} RETURNING version, {leanColumns}",
                _ => $"DELETE FROM grain_state WHERE state_type = $1 AND key = $2 AND version = {expected} RETURNING 0::bigint, {leanColumns}",
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
            Change.Delete => $"st AS (DELETE FROM grain_state WHERE state_type = $1 AND key = $2 AND version = {expected}{notSeen} RETURNING 0::bigint AS version)",
            _ => $"st AS (SELECT 0::bigint AS version WHERE NOT EXISTS (SELECT 1 FROM grain_state WHERE state_type = $1 AND key = $2){notSeen})",
        });
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
        // The mark was recorded by a concurrent transaction after this statement's snapshot: the state change must
        // not commit, so abort the batch (the error is the only way out of an implicit transaction) and redo it alone.
        sql.Append(withInbox
            ? "CASE WHEN EXISTS (SELECT 1 FROM st) AND NOT EXISTS (SELECT 1 FROM mark) THEN courtyard_retry_alone() ELSE EXISTS (SELECT 1 FROM seen) END, "
            : "false, ");
        sql.Append("NULL::bigint, ")
           .Append(withOutbox ? "ARRAY(SELECT id FROM ob ORDER BY id)" : "'{}'::bigint[]");
        return sql.ToString();
    }
}
