using Npgsql;
using NpgsqlTypes;

namespace Courtyard.Storage.Postgres;

/// <summary>
/// The production provider: one PostgreSQL database per service, default durability (fsync, synchronous_commit on).
/// State writes are group-committed by a few writer loops, each batch one transaction; the other stores run their
/// statements directly on pooled connections.
/// </summary>
public sealed class PostgresStorageProvider : IStorageProvider
{
    private readonly NpgsqlDataSource dataSource;
    private readonly GroupCommitQueue<PendingStateWrite> queue;
    private int disposed;

    private PostgresStorageProvider(NpgsqlDataSource dataSource, StorageOptions options)
    {
        this.dataSource = dataSource;
        var writer = new PostgresStateWriter(dataSource);
        queue = new GroupCommitQueue<PendingStateWrite>(writer.CommitBatchAsync, options.MaxBatchSize, options.PostgresWriterConnections,
            pending => HashCode.Combine(StringComparer.Ordinal.GetHashCode(pending.Write.StateType), StringComparer.Ordinal.GetHashCode(pending.Write.Key)));
        State = new PostgresStateStore(this);
        Outbox = new PostgresOutboxStore(this);
        Inbox = new PostgresInboxStore(this);
        DeadLetters = new PostgresDeadLetterStore(this);
        Reminders = new PostgresReminderStore(this);
    }

    public IStateStore State { get; }
    public IOutboxStore Outbox { get; }
    public IInboxStore Inbox { get; }
    public IDeadLetterStore DeadLetters { get; }
    public IReminderStore Reminders { get; }

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
        var dataSource = builder.Build();
        try
        {
            await PostgresSchema.MigrateAsync(dataSource, cancellationToken);
        }
        catch
        {
            await dataSource.DisposeAsync();
            throw;
        }
        return new PostgresStorageProvider(dataSource, options);
    }

    internal Task<WriteResult> WriteStateAsync(StateWrite write, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<WriteResult>(cancellationToken);
        var pending = new PendingStateWrite(write);
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

    internal static NpgsqlParameter<string> Text(string value) => PostgresStateWriter.Text(value);
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
