using System.Data.Common;
using Courtyard.ServiceDefaults;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Courtyard.Testing.Services;

/// <summary>Which database a test runs a service on: the embedded default, or PostgreSQL as in production.</summary>
public enum TestStorage
{
    Sqlite,
    Postgres,
}

/// <summary>An integration event row as the service committed it to its outbox (sent or not).</summary>
public sealed record CommittedEvent(long Id, string CourtyardId, string EventType, string Payload);

/// <summary>
/// One service host in a test, composed the way its Program.cs composes it — <c>AddServiceDefaults(name)</c>, the
/// service's <c>Add…</c>, <c>MapServiceDefaults()</c>, its <c>Map…</c> — on free ports, a data folder of its own, and
/// SQLite or a fresh PostgreSQL database per storage (dropped at the end). Tests reach it through gRPC
/// (<see cref="Channel"/>) and read its database directly (<see cref="CommittedEventsAsync"/>, <see cref="OpenDatabaseAsync"/>).
/// </summary>
public sealed class ServiceTestHost : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly IReadOnlyDictionary<string, string> postgresDatabases;
    private readonly bool ownsDataDir;

    private ServiceTestHost(WebApplication app, TestStorage storage, string dataDir, bool ownsDataDir, IReadOnlyDictionary<string, string> postgresDatabases)
    {
        this.app = app;
        this.postgresDatabases = postgresDatabases;
        this.ownsDataDir = ownsDataDir;
        Storage = storage;
        DataDir = dataDir;
        var endpoints = app.Services.GetRequiredService<ServiceEndpoints>();
        GrpcAddress = endpoints.GrpcAddress;
        HttpAddress = endpoints.HttpAddress;
        Channel = GrpcChannel.ForAddress(GrpcAddress);
    }

    public TestStorage Storage { get; }
    public string DataDir { get; }
    public Uri GrpcAddress { get; }
    public Uri HttpAddress { get; }
    public GrpcChannel Channel { get; }
    public IServiceProvider Services => app.Services;
    public IGrainFactory Grains => app.Services.GetRequiredService<IGrainFactory>();

    /// <summary>
    /// Starts the host. <paramref name="storages"/> names the storages the service declares (default: its own name), so
    /// each gets its database. <paramref name="settings"/> go on top of the test defaults; <paramref name="dataDir"/> is a
    /// folder the test keeps itself (e.g. across a restart), else a fresh one removed on dispose.
    /// </summary>
    public static async Task<ServiceTestHost> StartAsync(string serviceName, Action<WebApplicationBuilder> add, Action<WebApplication> map,
        TestStorage storage = TestStorage.Sqlite, IDictionary<string, string?>? settings = null, string? dataDir = null,
        IReadOnlyList<string>? storages = null, IReadOnlyDictionary<string, string>? postgresDatabases = null)
    {
        bool ownsDataDir = dataDir is null;
        dataDir ??= Path.Combine(Path.GetTempPath(), "courtyard-service-tests", Guid.NewGuid().ToString("N"));
        var databases = new Dictionary<string, string>(postgresDatabases ?? new Dictionary<string, string>());
        var configuration = new Dictionary<string, string?>
        {
            ["Courtyard:GrpcPort"] = "0",
            ["Courtyard:HttpPort"] = "0",
            ["Courtyard:DataDir"] = dataDir,
            ["Courtyard:Storage:Provider"] = storage == TestStorage.Postgres ? "postgres" : "sqlite",
            ["Courtyard:Orleans:ClusterId"] = serviceName + "-" + Guid.NewGuid().ToString("N")[..8],
            ["Logging:LogLevel:Default"] = Environment.GetEnvironmentVariable("COURTYARD_TEST_LOGS") == "1" ? "Information" : "Warning",
        };
        if (storage == TestStorage.Postgres)
        {
            foreach (var name in storages ?? [serviceName])
            {
                if (!databases.ContainsKey(name))
                {
                    databases[name] = await TestPostgres.CreateDatabaseAsync();
                }
                configuration[$"ConnectionStrings:{name}"] = databases[name];
            }
        }
        WebApplication app;
        for (int attempt = 1; ; attempt++)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development });
            builder.Configuration.AddInMemoryCollection(configuration);
            if (settings is not null)
            {
                builder.Configuration.AddInMemoryCollection(settings);
            }
            builder.AddServiceDefaults(serviceName);
            add(builder);
            app = builder.Build();
            app.MapServiceDefaults();
            map(app);
            try
            {
                await app.StartAsync();
                break;
            }
            catch (Exception e) when (attempt < 3 && IsPortTaken(e))
            {
                // The silo's free port is chosen before Orleans binds it; a test running beside this one took it meanwhile.
                await app.DisposeAsync();
            }
        }
        // Databases the caller passed in are the caller's to drop; the ones made here are dropped on dispose.
        var owned = databases.Where(d => postgresDatabases?.ContainsKey(d.Key) != true).ToDictionary(d => d.Key, d => d.Value);
        return new ServiceTestHost(app, storage, dataDir, ownsDataDir, owned) { ConnectionStrings = databases };
    }

    private static bool IsPortTaken(Exception e) =>
        e is Microsoft.AspNetCore.Connections.AddressInUseException
        || e.InnerException is { } inner && IsPortTaken(inner)
        || e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse };

    /// <summary>The PostgreSQL connection string of each storage (empty on SQLite).</summary>
    public IReadOnlyDictionary<string, string> ConnectionStrings { get; private init; } = new Dictionary<string, string>();

    /// <summary>Every integration event the storage <paramref name="storageName"/> committed, oldest first, sent or not.</summary>
    public async Task<IReadOnlyList<CommittedEvent>> CommittedEventsAsync(string storageName)
    {
        await using var connection = await OpenDatabaseAsync(storageName);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, \"partition\", event_type, payload FROM outbox ORDER BY id";
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<CommittedEvent>();
        while (await reader.ReadAsync())
        {
            rows.Add(new CommittedEvent(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }
        return rows;
    }

    /// <summary>A connection of its own to the storage's database, for a test that reads or changes rows as a database user would.</summary>
    public async Task<DbConnection> OpenDatabaseAsync(string storageName)
    {
        DbConnection connection = Storage == TestStorage.Postgres
            ? new NpgsqlConnection(ConnectionStrings[storageName])
            : new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(DataDir, storageName + ".db"), Pooling = false }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        foreach (var database in postgresDatabases.Values)
        {
            await TestPostgres.DropDatabaseAsync(database);
        }
        if (ownsDataDir)
        {
            try
            {
                System.IO.Directory.Delete(DataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
