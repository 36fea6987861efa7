namespace Courtyard.Storage;

/// <summary>Tuning knobs shared by both providers; the defaults are what the README's figures were measured with.</summary>
public sealed record StorageOptions
{
    /// <summary>At most this many queued writes are committed in one transaction.</summary>
    public int MaxBatchSize { get; init; } = 512;

    /// <summary>
    /// PostgreSQL only: writer loops committing batches in parallel, each key always on the same loop. One loop (the
    /// default) keeps outbox ids in commit order across the whole database; more overlap commits when fsync is slow.
    /// </summary>
    public int PostgresWriterConnections { get; init; } = 1;

    /// <summary>SQLite only: how long a statement waits for a lock held by another process before failing.</summary>
    public TimeSpan SqliteBusyTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
