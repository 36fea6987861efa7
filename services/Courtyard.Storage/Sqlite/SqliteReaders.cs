using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Courtyard.Storage.Sqlite;

/// <summary>
/// Runs reads on a few dedicated threads, each with its own open connection. Microsoft.Data.Sqlite has no truly
/// asynchronous I/O, so a read blocks whichever thread runs it; here that is never a caller's (a gRPC request's or a
/// grain's) thread-pool thread, and a burst of slow reads cannot starve the pool. WAL: readers never wait for the writer.
/// </summary>
internal sealed class SqliteReaders : IDisposable
{
    private readonly BlockingCollection<Action<ReaderConnection>> work = new();
    private readonly Thread[] threads;

    public SqliteReaders(string connectionString, int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        threads = Enumerable.Range(0, threadCount).Select(i => new Thread(() => Run(connectionString))
        {
            IsBackground = true,
            Name = $"sqlite-reader-{i}",
        }).ToArray();
        foreach (var thread in threads) thread.Start();
    }

    public Task<TResult> ReadAsync<TResult>(string sql, object?[] values, Func<SqliteDataReader, TResult> read, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<TResult>(cancellationToken);
        var completion = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            work.Add(connection =>
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    completion.TrySetCanceled(cancellationToken);
                    return;
                }
                var command = connection.Prepare(sql, values);
                try
                {
                    using var reader = command.ExecuteReader();
                    completion.TrySetResult(read(reader));
                }
                catch (Exception error)
                {
                    completion.TrySetException(error);
                }
                finally
                {
                    // Cached commands must not keep the last key or blob alive.
                    foreach (SqliteParameter parameter in command.Parameters) parameter.Value = DBNull.Value;
                }
            });
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(SqliteStorageProvider), "The storage provider is closed.");
        }
        return completion.Task;
    }

    private void Run(string connectionString)
    {
        using var connection = new ReaderConnection(connectionString);
        foreach (var item in work.GetConsumingEnumerable()) item(connection);
    }

    /// <summary>One reader thread's connection, with its statements compiled once and reused.</summary>
    private sealed class ReaderConnection : IDisposable
    {
        private readonly SqliteConnection connection;
        private readonly Dictionary<string, SqliteCommand> commands = new(StringComparer.Ordinal);

        public ReaderConnection(string connectionString)
        {
            connection = new SqliteConnection(connectionString);
            connection.Open();
        }

        public SqliteCommand Prepare(string sql, object?[] values)
        {
            if (!commands.TryGetValue(sql, out var command))
            {
                command = connection.CreateCommand();
                command.CommandText = sql;
                for (var i = 0; i < values.Length; i++) command.Parameters.Add(new SqliteParameter("$" + (i + 1), null));
                commands.Add(sql, command);
            }
            for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i] ?? DBNull.Value;
            return command;
        }

        public void Dispose()
        {
            foreach (var command in commands.Values) command.Dispose();
            connection.Dispose();
        }
    }

    public void Dispose()
    {
        work.CompleteAdding();
        foreach (var thread in threads) thread.Join();
        work.Dispose();
    }
}
