namespace Courtyard.Storage.Postgres;

/// <summary>
/// The writers' half of the relay's gap rule (see <see cref="OutboxVisibility"/>): a transaction takes its transaction
/// id before it draws an outbox id. Otherwise a transaction whose first write is its outbox insert could draw id N,
/// a reader could see N + 1 committed and N missing, and only then would the writer get an xid, one the reader's
/// "every transaction that had started has ended" cannot cover. Run this as the first statement of every transaction
/// that inserts outbox rows (a state write whose own row change comes first takes its xid then, but a batch may start
/// with an outbox-only write, and an insert with CTEs evaluates in no promised order).
/// </summary>
internal static class PostgresOutboxOrdering
{
    public const string TakeTransactionIdFirst = "SELECT pg_current_xact_id()";
}
