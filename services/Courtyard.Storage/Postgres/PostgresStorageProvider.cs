using Npgsql;
using NpgsqlTypes;

namespace Courtyard.Storage.Postgres;

/// <summary>
/// The production provider: one PostgreSQL database per service. Its connections run with synchronous_commit = on
/// whatever the server's or database's default, and it refuses a server running with fsync = off.
/// State writes are group-committed by a few writer loops, each batch one transaction; the other stores run their
/// statements directly on pooled connections.
/// </summary>
public sealed class PostgresStorageProvider : IStorageProvider
{
    private readonly NpgsqlDataSource dataSource;
    private readonly GroupCommitQueue<PendingPostgresWrite> queue;
    private int disposed;

    private PostgresStorageProvider(NpgsqlDataSource dataSource, StorageOptions options)
    {
        this.dataSource = dataSource;
        var writer = new PostgresStateWriter(dataSource, options, OutboxCommits);
        queue = new GroupCommitQueue<PendingPostgresWrite>(writer.CommitBatchAsync, options.MaxBatchSize, options.MaxQueuedWrites,
            options.PostgresWriterConnections,
            pending => HashCode.Combine(StringComparer.Ordinal.GetHashCode(pending.Row.Table), StringComparer.Ordinal.GetHashCode(pending.Row.Key)));
        State = new PostgresStateStore(this);
        Outbox = new PostgresOutboxStore(this);
        Inbox = new PostgresInboxStore(this);
        DeadLetters = new PostgresDeadLetterStore(this);
        Journal = new PostgresJournalStore(this);
        Reminders = new PostgresReminderTable(this);
    }

    public IStateStore State { get; }
    public IOutboxStore Outbox { get; }
    public IInboxStore Inbox { get; }
    public IDeadLetterStore DeadLetters { get; }
    public IJournalStore Journal { get; }
    public Orleans.IReminderTable Reminders { get; }

    internal OutboxCommitSignal OutboxCommits { get; } = new();

    /// <summary>Writes accepted and waiting for a batch (tests: the queue is bounded).</summary>
    internal int QueuedWrites => queue.QueuedCount;

    /// <summary>Connects, creates or migrates the schema, and starts the writer loops.</summary>
    /// <param name="connectionString">An Npgsql connection string, e.g. <c>Host=127.0.0.1;Port=55432;Username=postgres;Password=…;Database=councils</c>.</param>
    public static async Task<PostgresStorageProvider> OpenAsync(string connectionString, StorageOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        options ??= new StorageOptions();
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;
        // The state statements have a handful of fixed shapes: keep them prepared on every connection.
        if (settings.MaxAutoPrepare == 0) settings.MaxAutoPrepare = 64;
        settings.AutoPrepareMinUsages = Math.Min(settings.AutoPrepareMinUsages, 2);
        // Sessions carry no state of ours; skipping the reset keeps prepared statements and saves a round trip.
        settings.NoResetOnClose = true;
        // An acknowledged write must be on the server's disk, whatever the server's, database's or role's default says.
        settings.Options = string.Join(' ', new[] { settings.Options, "-c synchronous_commit=on" }.Where(o => !string.IsNullOrWhiteSpace(o)));
        var dataSource = builder.Build();
        try
        {
            await CheckDurabilityAsync(dataSource, options, cancellationToken);
            await PostgresSchema.MigrateAsync(dataSource, cancellationToken);
        }
        catch
        {
            await dataSource.DisposeAsync();
            throw;
        }
        return new PostgresStorageProvider(dataSource, options);
    }

    /// <summary>With <c>fsync = off</c> a server crash loses acknowledged writes: refuse, unless explicitly allowed.</summary>
    private static async Task CheckDurabilityAsync(NpgsqlDataSource dataSource, StorageOptions options, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT current_setting('fsync'), current_setting('synchronous_commit')");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        DurabilityCheck.Verify(reader.GetString(0), reader.GetString(1), options.AllowPostgresWithoutFsync);
    }

    /// <summary>A setting as the provider's own connections see it (tests: durability is set per connection).</summary>
    internal async Task<string> ReadSettingAsync(string name)
    {
        await using var command = Command("SELECT current_setting($1)", Text(name));
        return (string)(await command.ExecuteScalarAsync())!;
    }

    internal Task<WriteResult> WriteAsync(PendingPostgresWrite pending, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<WriteResult>(cancellationToken);
        queue.Enqueue(pending, cancellationToken);
        return pending.Outcome.Task;
    }

    internal ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        return dataSource.OpenConnectionAsync(cancellationToken);
    }

    internal NpgsqlCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        var command = dataSource.CreateCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    internal async Task<int> ExecuteAsync(string sql, NpgsqlParameter[] parameters, CancellationToken cancellationToken)
    {
        await using var command = Command(sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal async Task<TResult> QueryAsync<TResult>(string sql, NpgsqlParameter[] parameters,
        Func<NpgsqlDataReader, CancellationToken, Task<TResult>> read, CancellationToken cancellationToken)
    {
        await using var command = Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await read(reader, cancellationToken);
    }

    /// <summary>Runs a "delete at most $2 rows older than $1" statement until it deletes fewer (short transactions, short locks).</summary>
    internal async Task<long> PurgeInChunksAsync(string sql, DateTimeOffset before, CancellationToken cancellationToken)
    {
        const int chunk = 5000;
        long total = 0;
        while (true)
        {
            var deleted = await ExecuteAsync(sql, [Timestamp(before), Integer(chunk)], cancellationToken);
            total += deleted;
            if (deleted < chunk) return total;
        }
    }

    internal static NpgsqlParameter<string> Text(string value) => PostgresStatements.Text(value);
    internal static NpgsqlParameter<long> Bigint(long value) => new() { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = value };
    internal static NpgsqlParameter<int> Integer(int value) => new() { NpgsqlDbType = NpgsqlDbType.Integer, TypedValue = value };
    internal static NpgsqlParameter<DateTimeOffset> Timestamp(DateTimeOffset value) =>
        new() { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = StorageTime.Normalize(value) };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        await queue.DisposeAsync();
        await dataSource.DisposeAsync();
    }
}

/// <summary>The durability settings a PostgreSQL provider insists on, checked when it opens.</summary>
internal static class DurabilityCheck
{
    public static void Verify(string fsync, string synchronousCommit, bool allowWithoutFsync)
    {
        if (!string.Equals(synchronousCommit, "on", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"PostgreSQL session runs with synchronous_commit = {synchronousCommit}; the provider needs it on.");
        if (string.Equals(fsync, "on", StringComparison.OrdinalIgnoreCase) || allowWithoutFsync) return;
        throw new InvalidOperationException(
            "PostgreSQL 服务器关闭了 fsync：服务器崩溃时已确认的写入会丢失，因此拒绝使用。\n" +
            "The PostgreSQL server runs with fsync = off: acknowledged writes would be lost in a server crash, so the storage " +
            "refuses to open. Turn fsync on, or set StorageOptions.AllowPostgresWithoutFsync for a throwaway test server.");
    }
}
