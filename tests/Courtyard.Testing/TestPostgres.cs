using Npgsql;

namespace Courtyard.Testing;

/// <summary>
/// The shared test PostgreSQL: COURTYARD_TEST_POSTGRES (an admin connection string) when set, otherwise the one
/// scripts/postgres.sh starts on 127.0.0.1:55432 (at most once per process). Each test gets a database of its own,
/// with a random name, created fresh and dropped afterwards.
/// </summary>
public static class TestPostgres
{
    private static readonly Lazy<Task<string>> AdminConnectionString = new(FindOrStartAsync);

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var admin = await AdminConnectionString.Value;
        var name = "courtyard_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var dataSource = NpgsqlDataSource.Create(admin))
        await using (var create = dataSource.CreateCommand($"CREATE DATABASE {name}"))
        {
            await create.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    /// <summary>Drops the database of <paramref name="connectionString"/>, closing whatever is still connected to it.</summary>
    public static async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using (var pooled = new NpgsqlConnection(connectionString))
        {
            NpgsqlConnection.ClearPool(pooled);   // idle connections of a dropped database are of no use to anyone
        }
        await using var dataSource = NpgsqlDataSource.Create(await AdminConnectionString.Value);
        await using var drop = dataSource.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await drop.ExecuteNonQueryAsync();
    }

    private static async Task<string> FindOrStartAsync() =>
        Environment.GetEnvironmentVariable("COURTYARD_TEST_POSTGRES") is { Length: > 0 } configured
            ? configured
            : await TestScripts.RunAsync("postgres.sh", "start");
}
