using Courtyard.Storage.Postgres;
using Courtyard.Storage.Sqlite;
using Courtyard.Testing;

namespace Courtyard.Storage.Tests;

/// <summary>A fresh database of one kind for one test: a SQLite file in a temporary folder, or a PostgreSQL database.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string? folder;
    private string? postgres;

    private TestDatabase(string kind, string? folder)
    {
        Kind = kind;
        this.folder = folder;
    }

    public string Kind { get; }

    public static TestDatabase Sqlite() => new("sqlite", Directory.CreateTempSubdirectory("courtyard-silo-test-").FullName);

    public static TestDatabase Postgres() => new("postgres", null);

    /// <summary>The worker's arguments for this database: kind and path or connection string.</summary>
    public async Task<string[]> TargetAsync(string name = "service") => [Kind, Kind == "sqlite" ? SqlitePath(name) : await PostgresAsync()];

    public async Task<IStorageProvider> OpenAsync(StorageOptions? options = null, string name = "service") => Kind == "sqlite"
        ? await SqliteStorageProvider.OpenAsync(SqlitePath(name), options)
        : await PostgresStorageProvider.OpenAsync(await PostgresAsync(name), options);

    private string SqlitePath(string name) => Path.Combine(folder!, name + ".db");

    private readonly Dictionary<string, string> databases = [];

    private async Task<string> PostgresAsync(string name = "service")
    {
        if (!databases.TryGetValue(name, out var connection)) databases[name] = connection = await TestPostgres.CreateDatabaseAsync();
        postgres ??= connection;
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in databases.Values) await TestPostgres.DropDatabaseAsync(connection);
        if (folder is not null) Directory.Delete(folder, recursive: true);
    }
}
