using System.Diagnostics;
using Courtyard.ServiceDefaults.Tests.Grpc;
using Courtyard.Storage;
using Courtyard.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.ServiceDefaults.Tests.Storage;

/// <summary>AddServiceStorage in a running host: each service's own database, opened before the silo, or a clear refusal.</summary>
public sealed class ServiceStorageTests
{
    [Fact]
    public async Task Two_services_in_one_process_keep_their_data_apart_in_two_files()
    {
        await using var host = await InteropTestServer.StartAsync(configure: builder =>
        {
            builder.AddServiceStorage("councils");
            builder.AddServiceStorage("directory");
            builder.AddServiceStorage("councils");   // declared twice (a service and the portal, say): still one database
        });
        var councils = host.Services.GetRequiredKeyedService<IStorageProvider>("councils");
        var directory = host.Services.GetRequiredKeyedService<IStorageProvider>("directory");

        await councils.State.WriteAsync(new StateWrite { StateType = "Probe.Note", Key = "c1", Data = [1] });

        string dataDir = host.Services.GetRequiredService<ServiceOptions>().DataDir;
        Assert.True(File.Exists(Path.Combine(dataDir, "councils.db")));
        Assert.True(File.Exists(Path.Combine(dataDir, "directory.db")));
        Assert.Equal(2, host.Services.GetServices<StorageSettings>().Count());
        Assert.NotNull(await councils.State.ReadAsync("Probe.Note", "c1"));
        Assert.Null(await directory.State.ReadAsync("Probe.Note", "c1"));
    }

    [Fact]
    public async Task With_postgres_the_service_keeps_its_state_in_its_own_database()
    {
        string connectionString = await TestPostgres.CreateDatabaseAsync();
        try
        {
            await using (var host = await InteropTestServer.StartAsync(new()
            {
                ["Courtyard:Storage:Provider"] = "postgres",
                ["ConnectionStrings:councils"] = connectionString,
            }, builder => builder.AddServiceStorage("councils")))
            {
                var storage = host.Services.GetRequiredKeyedService<IStorageProvider>("councils");
                await storage.State.WriteAsync(new StateWrite { StateType = "Probe.Note", Key = "c1", Data = [7] });
                Assert.False(File.Exists(Path.Combine(host.Services.GetRequiredService<ServiceOptions>().DataDir, "councils.db")));
            }

            await using var again = await Courtyard.Storage.Postgres.PostgresStorageProvider.OpenAsync(connectionString);
            Assert.Equal(new byte[] { 7 }, (await again.State.ReadAsync("Probe.Note", "c1"))?.Data);
        }
        finally
        {
            await TestPostgres.DropDatabaseAsync(connectionString);
        }
    }

    [Fact]
    public async Task A_postgres_server_that_refuses_the_connection_stops_startup_at_once_naming_the_setting()
    {
        int port = FreePort();
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<ServiceStartupException>(() => InteropTestServer.StartAsync(new()
        {
            ["Courtyard:Storage:Provider"] = "postgres",
            ["ConnectionStrings:councils"] = $"Host=127.0.0.1;Port={port};Database=councils;Username=courtyard;Password=secret-pw",
        }, builder => builder.AddServiceStorage("councils")));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"failing took {clock.Elapsed}");
        Assert.StartsWith($"无法打开数据库 postgres 127.0.0.1:{port}/councils", error.Message);
        Assert.Contains($"Cannot open the database postgres 127.0.0.1:{port}/councils", error.Message);
        Assert.Contains("ConnectionStrings__councils", error.Message);
        Assert.DoesNotContain("secret-pw", error.Message);
    }

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }
}
