using Microsoft.Data.Sqlite;

namespace Courtyard.Storage.Sqlite;

/// <summary>
/// The embedded provider: one SQLite file per service, WAL journal, synchronous=FULL (a write is acknowledged only
/// once it is in the fsynced log). All mutations go through one writer connection with group commit; reads use
/// separate pooled connections and see every acknowledged write.
/// </summary>
public sealed class SqliteStorageProvider : IStorageProvider
{
    private readonly SqliteWriter writer;
    private readonly GroupCommitQueue<SqliteOperation> queue;
    private readonly SqliteReaders readers;
    private readonly string readConnectionString;
    private int disposed;

    private SqliteStorageProvider(SqliteWriter writer, string readConnectionString, StorageOptions options)
    {
        this.writer = writer;
        this.readConnectionString = readConnectionString;
        readers = new SqliteReaders(readConnectionString, options.SqliteReaderThreads);
        queue = new GroupCommitQueue<SqliteOperation>(batch =>
        {
            writer.CommitBatch(batch);
            if (writer.CommittedOutboxRows) OutboxCommits.Raise();
            return Task.CompletedTask;
        }, options.MaxBatchSize, options.MaxQueuedWrites, writerCount: 1);
        State = new SqliteStateStore(this);
        Outbox = new SqliteOutboxStore(this);
        Inbox = new SqliteInboxStore(this);
        DeadLetters = new SqliteDeadLetterStore(this);
        Journal = new SqliteJournalStore(this);
        Reminders = new SqliteReminderTable(this);
    }

    internal OutboxCommitSignal OutboxCommits { get; } = new();

    /// <summary>Writes accepted and waiting for a batch (tests: the queue is bounded).</summary>
    internal int QueuedWrites => queue.QueuedCount;

    /// <summary>The database file this provider owns.</summary>
    public required string Path { get; init; }

    public IStateStore State { get; }
    public IOutboxStore Outbox { get; }
    public IInboxStore Inbox { get; }
    public IDeadLetterStore DeadLetters { get; }
    public IJournalStore Journal { get; }
    public Orleans.IReminderTable Reminders { get; }

    /// <summary>Opens (creating if needed) the database file and brings its schema up to date.</summary>
    public static Task<SqliteStorageProvider> OpenAsync(string path, StorageOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        cancellationToken.ThrowIfCancellationRequested();
        options ??= new StorageOptions();
        var fullPath = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);

        var baseBuilder = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            DefaultTimeout = (int)Math.Ceiling(options.SqliteBusyTimeout.TotalSeconds),
        };
        var writeConnection = new SqliteConnection(new SqliteConnectionStringBuilder(baseBuilder.ConnectionString)
        {
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ConnectionString);
        try
        {
            writeConnection.Open();
            using (var pragmas = writeConnection.CreateCommand())
            {
                pragmas.CommandText =
                    $"PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = {(int)options.SqliteBusyTimeout.TotalMilliseconds};";
                pragmas.ExecuteNonQuery();
            }
            SqliteSchema.Migrate(writeConnection);
        }
        catch
        {
            writeConnection.Dispose();
            throw;
        }
        var readConnectionString = new SqliteConnectionStringBuilder(baseBuilder.ConnectionString)
        {
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = true,
        }.ConnectionString;
        return Task.FromResult(new SqliteStorageProvider(new SqliteWriter(writeConnection, options.BeforeCommitCompletes), readConnectionString, options) { Path = fullPath });
    }

    /// <summary>Queues a mutation for the writer; the task completes once its batch has committed.</summary>
    internal Task<TResult> WriteAsync<TResult>(Func<SqliteWriter, TResult> apply, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<TResult>(cancellationToken);
        var operation = new SqliteOperation<TResult>(apply);
        queue.Enqueue(operation, cancellationToken);
        return operation.Task;
    }

    /// <summary>
    /// Runs a "delete at most $2 rows older than $1" statement until it deletes fewer: each chunk is its own small
    /// write in the group-commit queue, so state writes go on between chunks.
    /// </summary>
    internal async Task<long> PurgeInChunksAsync(string sql, long before, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            var deleted = await WriteAsync(writer => writer.Execute(sql, before, PurgeChunk), cancellationToken);
            total += deleted;
            if (deleted < PurgeChunk) return total;
        }
    }

    private const int PurgeChunk = 2000;

    /// <summary>A PRAGMA's value as the writer connection sees it (for tests: durability settings are per connection).</summary>
    internal Task<string> ReadWriterPragmaAsync(string name) =>
        WriteAsync(writer => writer.Scalar<object>($"PRAGMA {name}").ToString()!, CancellationToken.None);

    /// <summary>Runs a query on one of the reader threads (WAL: readers never wait for the writer).</summary>
    internal Task<TResult> ReadAsync<TResult>(string sql, object?[] values, Func<SqliteDataReader, TResult> read, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        return readers.ReadAsync(sql, values, read, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        await queue.DisposeAsync();
        writer.Dispose();
        readers.Dispose();
        using var connection = new SqliteConnection(readConnectionString);
        SqliteConnection.ClearPool(connection);
    }
}
