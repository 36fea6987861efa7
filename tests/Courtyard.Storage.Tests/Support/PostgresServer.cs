using System.Diagnostics;
using Npgsql;

namespace Courtyard.Storage.Tests.Support;

/// <summary>
/// The shared test PostgreSQL: COURTYARD_TEST_POSTGRES when set, otherwise the one scripts/postgres.sh starts
/// (127.0.0.1:55432). Each test gets a database of its own, created fresh and dropped afterwards.
/// </summary>
public static class PostgresServer
{
    private static readonly Lazy<Task<string>> AdminConnectionString = new(FindOrStartAsync);

    public static async Task<string> CreateDatabaseAsync()
    {
        var admin = await AdminConnectionString.Value;
        var name = "courtyard_storage_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var dataSource = NpgsqlDataSource.Create(admin))
        await using (var create = dataSource.CreateCommand($"CREATE DATABASE {name}"))
            await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = true }.ConnectionString;
    }

    public static async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var dataSource = NpgsqlDataSource.Create(await AdminConnectionString.Value);
        await using var drop = dataSource.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await drop.ExecuteNonQueryAsync();
    }

    private static async Task<string> FindOrStartAsync()
    {
        var configured = Environment.GetEnvironmentVariable("COURTYARD_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(configured)) return configured;
        var start = new ProcessStartInfo("bash", ["scripts/postgres.sh", "start"])
        {
            WorkingDirectory = RepositoryRoot.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var script = Process.Start(start)!;
        var output = script.StandardOutput.ReadToEndAsync();
        var errors = script.StandardError.ReadToEndAsync();
        await script.WaitForExitAsync();
        if (script.ExitCode != 0)
            throw new InvalidOperationException($"scripts/postgres.sh start failed ({script.ExitCode}): {await errors}");
        return (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
    }
}
