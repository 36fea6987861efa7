using Courtyard.Storage;
using Courtyard.Storage.Postgres;
using Courtyard.Storage.Sqlite;

namespace Courtyard.Grains.Tests.Worker;

/// <summary>Opens the worker's database: "sqlite" with a file path, "postgres" with an Npgsql connection string.</summary>
public static class WorkerStorage
{
    public static async Task<IStorageProvider> OpenAsync(string provider, string connection) => provider switch
    {
        "sqlite" => await SqliteStorageProvider.OpenAsync(connection),
        "postgres" => await PostgresStorageProvider.OpenAsync(connection),
        _ => throw new ArgumentException($"unknown storage provider {provider} (sqlite|postgres)"),
    };
}
