using Courtyard.Storage.Sqlite;

namespace Courtyard.Storage.Tests;

/// <summary>The conformance suite on a fresh SQLite file (WAL, synchronous=FULL) in a temporary folder per test.</summary>
public sealed class SqliteConformanceTests : StorageConformanceTests
{
    private readonly string folder = Directory.CreateTempSubdirectory("courtyard-storage-test-").FullName;

    private string DatabasePath => Path.Combine(folder, "service.db");

    protected override string[] WorkerTarget => ["sqlite", DatabasePath];

    protected override async Task<IStorageProvider> OpenAsync(StorageOptions options) => await SqliteStorageProvider.OpenAsync(DatabasePath, options);

    protected override Task DeleteDatabaseAsync()
    {
        Directory.Delete(folder, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_database_file_is_in_WAL_mode_and_created_with_its_folder()
    {
        var nested = Path.Combine(folder, "a", "b", "nested.db");
        await using (await SqliteStorageProvider.OpenAsync(nested)) { }

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={nested};Pooling=False");
        connection.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string)command.ExecuteScalar()!);
        command.CommandText = "SELECT MAX(version) FROM schema_version";
        Assert.Equal(4L, (long)command.ExecuteScalar()!);
    }

    [Fact]
    public async Task The_writer_connection_fsyncs_every_commit()
    {
        var sqlite = (SqliteStorageProvider)Storage;

        Assert.Equal("2", await sqlite.ReadWriterPragmaAsync("synchronous")); // FULL
        Assert.Equal("wal", await sqlite.ReadWriterPragmaAsync("journal_mode"));
        Assert.Equal("10000", await sqlite.ReadWriterPragmaAsync("busy_timeout"));
    }

    [Fact]
    public async Task Reads_run_on_the_providers_reader_threads_never_on_the_callers_thread()
    {
        var sqlite = (SqliteStorageProvider)Storage;
        var caller = Environment.CurrentManagedThreadId;

        var (thread, name) = await sqlite.ReadAsync("SELECT 1", [], _ => (Environment.CurrentManagedThreadId, Thread.CurrentThread.Name), CancellationToken.None);

        Assert.NotEqual(caller, thread);
        Assert.StartsWith("sqlite-reader-", name);
        Assert.False(Thread.CurrentThread.IsThreadPoolThread && name is null);
    }
}
