using System.Text.Json;
using Courtyard.Grains.Tests.Worker;
using Courtyard.Storage;
using Courtyard.Storage.Sqlite;
using Courtyard.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Grains.Tests;

public sealed class SqliteStateTests : StateTests
{
    protected override async Task<StorageUnderTest> CreateStorageAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"grains-state-{Guid.NewGuid():N}.db");
        var provider = await SqliteStorageProvider.OpenAsync(file);
        return new StorageUnderTest("SQLite", services => services.AddSingleton<IStorageProvider>(provider), provider.State,
            () => provider.Outbox.ReadUnsentAsync(100), async () =>
            {
                await provider.DisposeAsync();
                foreach (var path in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(file) + "*")) File.Delete(path);
            });
    }
}

/// <summary>Opens the worker's storage from the test, to read what the worker processes wrote.</summary>
public static class WorkerStorageForTests
{
    public static Task<IStorageProvider> OpenAsync(string provider, string connection) => WorkerStorage.OpenAsync(provider, connection);

    public static async Task<long> ReadWorkerCountAsync(IStorageProvider storage, string key)
    {
        var stored = await storage.State.ReadAsync(nameof(WorkerCounterGrain), key) ?? throw new Xunit.Sdk.XunitException("no counter row");
        return JsonSerializer.Deserialize<WorkerCounterState>(stored.Data)!.Count;
    }
}

public sealed class PostgresStateTests : StateTests
{
    protected override async Task<StorageUnderTest> CreateStorageAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync();
        var provider = await Courtyard.Storage.Postgres.PostgresStorageProvider.OpenAsync(database);
        return new StorageUnderTest("PostgreSQL", services => services.AddSingleton<IStorageProvider>(provider), provider.State,
            () => provider.Outbox.ReadUnsentAsync(100), async () =>
            {
                await provider.DisposeAsync();
                await TestPostgres.DropDatabaseAsync(database);
            });
    }
}
