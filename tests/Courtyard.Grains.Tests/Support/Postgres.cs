using System.Diagnostics;
using Npgsql;

namespace Courtyard.Grains.Tests.Support;

/// <summary>The shared test PostgreSQL (COURTYARD_TEST_POSTGRES, else scripts/postgres.sh start); each test gets its own database.</summary>
public static class Postgres
{
    private static readonly Lazy<Task<string>> adminConnection = new(FindOrStartAsync);

    public static async Task<string> CreateDatabaseAsync()
    {
        var admin = await adminConnection.Value;
        var name = "grains_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    public static async Task DropDatabaseAsync(string connectionString)
    {
        NpgsqlConnection.ClearAllPools();
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        await using var connection = new NpgsqlConnection(await adminConnection.Value);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string> FindOrStartAsync()
    {
        if (Environment.GetEnvironmentVariable("COURTYARD_TEST_POSTGRES") is { Length: > 0 } configured) return configured;
        var script = Path.Combine(RepositoryRoot.Path, "scripts", "postgres.sh");
        var start = Process.Start(new ProcessStartInfo("bash", [script, "start"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await start.StandardOutput.ReadToEndAsync();
        var errors = await start.StandardError.ReadToEndAsync();
        await start.WaitForExitAsync();
        if (start.ExitCode != 0) throw new InvalidOperationException($"scripts/postgres.sh start failed: {errors}");
        return output.Trim().Split('\n').Last().Trim();
    }
}

public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Platform.sln"))) return dir.FullName;
        throw new InvalidOperationException("Platform.sln not found above " + AppContext.BaseDirectory);
    }
}
