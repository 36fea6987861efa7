namespace Courtyard.Storage;

/// <summary>Tuning knobs shared by both providers; the defaults are what the README's figures were measured with.</summary>
public sealed record StorageOptions
{
    /// <summary>At most this many queued writes are committed in one transaction.</summary>
    public int MaxBatchSize { get; init; } = 512;

    /// <summary>
    /// Writes waiting per writer loop. When the queue is full a caller waits for room (back-pressure): memory stays
    /// bounded however far callers outrun the disk.
    /// </summary>
    public int MaxQueuedWrites { get; init; } = 8192;

    /// <summary>
    /// PostgreSQL only: writer loops committing batches in parallel, each key always on the same loop. One loop (the
    /// default) keeps outbox ids in commit order across the whole database; more overlap commits when fsync is slow.
    /// </summary>
    public int PostgresWriterConnections { get; init; } = 1;

    /// <summary>
    /// PostgreSQL only: how long the redo of a failed batch, one transaction per write, may take in all before its
    /// remaining writes fail (their outcome is then certain: nothing of them was committed).
    /// </summary>
    public TimeSpan PostgresRedoTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// PostgreSQL only: open even when the server runs with <c>fsync = off</c> (acknowledged writes would not survive a
    /// server crash). Off by default: opening such a database fails. Only for throwaway test servers.
    /// </summary>
    public bool AllowPostgresWithoutFsync { get; init; }

    /// <summary>SQLite only: how long a statement waits for a lock held by another process before failing.</summary>
    public TimeSpan SqliteBusyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>SQLite only: threads, each with its own connection, that run reads (never the callers' threads).</summary>
    public int SqliteReaderThreads { get; init; } = 2;


    /// <summary>Tests only: runs inside each batch's commit, before its callers can learn the outcome.</summary>
    internal Func<Task>? BeforeCommitCompletes { get; init; }
}
