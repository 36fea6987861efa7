using System.Diagnostics;
using Courtyard.Events;
using Courtyard.Events.V1;
using Courtyard.Grpc;
using Courtyard.ServiceDefaults;
using Courtyard.Storage;
using Courtyard.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Host.Tests.Probe;

namespace Platform.Host.Tests;

/// <summary>Storage, grains and events as the embedded host wires them from ServiceDefaults and configuration.</summary>
public sealed class StateAndEventsTests
{
    private static readonly Method<ListDeadLettersRequest, ListDeadLettersResponse> ListDeadLetters =
        Method.Create<ListDeadLettersRequest, ListDeadLettersResponse>(EventAdminReflection.Descriptor, "EventAdmin", "ListDeadLetters");

    private static CallOptions Within(int seconds) => new(deadline: DateTime.UtcNow.AddSeconds(seconds));

    [Fact]
    public async Task The_host_keeps_its_sqlite_file_in_the_data_folder_and_says_so()
    {
        await using var host = await RunningHost.StartAsync();
        string file = Path.Combine(host.DataDir, "courtyard-platform.db");

        Assert.True(File.Exists(file), $"no SQLite file at {file}");
        // The provider in DI is the open database: a write lands in that file.
        var storage = host.App.Services.GetRequiredService<IStorageProvider>();
        var written = await storage.State.WriteAsync(new StateWrite { StateType = "HostTests.Note", Key = "c1", Data = [1, 2, 3] });
        Assert.Equal(1, written.NewVersion);
        string text = PlatformHost.DescribeAddresses(host.App);
        Assert.Contains($"storage: sqlite {file}", text);
        Assert.Contains("events: inproc", text);
    }

    [Fact]
    public async Task Event_admin_answers_with_no_dead_letters_on_a_fresh_host()
    {
        await using var host = await RunningHost.StartAsync();

        var reply = await host.Channel.UnaryAsync(ListDeadLetters, new ListDeadLettersRequest(), Within(10));

        Assert.Empty(reply.DeadLetters);
    }

    [Fact]
    public async Task An_event_its_handler_gives_up_on_is_listed_by_event_admin()
    {
        await using var host = await RunningHost.StartAsync(builder =>
            builder.Services.AddEventBus("hosttests",
                bus => bus.Map<TouchRequest>("courtyard.hosttests.touched.v1", topic: "hosttests")
                    .Handle<TouchRequest>("auditor", (_, _) => throw new InvalidOperationException("auditor is broken")),
                options => options.MaxDeliveryAttempts = 1));
        var bus = host.App.Services.GetRequiredKeyedService<EventBus>("hosttests");

        await bus.PublishAsync("courtyard-7", new TouchRequest { Text = "门禁坏了" });
        IList<Courtyard.Events.V1.DeadLetter> letters = [];
        await Eventually.HoldsAsync(async () =>
        {
            letters = (await host.Channel.UnaryAsync(ListDeadLetters, new ListDeadLettersRequest { Service = "hosttests" }, Within(10))).DeadLetters;
            return letters.Count > 0;
        }, TimeSpan.FromSeconds(30), "EventAdmin lists the dead letter");

        var letter = Assert.Single(letters);
        Assert.Equal("auditor", letter.Consumer);
        Assert.Equal("courtyard.hosttests.touched.v1", letter.EventType);
        Assert.Equal("courtyard-7", letter.Partition);
        Assert.Contains("auditor is broken", letter.LastError);
        Assert.Contains("门禁坏了", letter.CloudEventJson);
    }

    [Fact]
    public async Task With_postgres_configured_the_host_keeps_its_state_in_that_database_not_in_a_file()
    {
        string connectionString = await TestPostgres.CreateDatabaseAsync();
        var target = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        try
        {
            await using (var host = await RunningHost.StartAsync(Configure(new()
            {
                ["Courtyard:Storage:Provider"] = "postgres",
                ["Courtyard:Storage:ConnectionString"] = connectionString,
            })))
            {
                var storage = host.App.Services.GetRequiredService<IStorageProvider>();
                await storage.State.WriteAsync(new StateWrite { StateType = "HostTests.Note", Key = "c1", Data = [7] });
                var reply = await host.Channel.UnaryAsync(ListDeadLetters, new ListDeadLettersRequest(), Within(10));

                Assert.Empty(reply.DeadLetters);
                Assert.Contains($"storage: postgres {target.Host}:{target.Port}/{target.Database}", PlatformHost.DescribeAddresses(host.App));
                Assert.False(File.Exists(Path.Combine(host.DataDir, "courtyard-platform.db")));
            }

            // The write is in PostgreSQL: a second provider over the same database reads it back.
            await using var again = await Courtyard.Storage.Postgres.PostgresStorageProvider.OpenAsync(connectionString);
            var stored = await again.State.ReadAsync("HostTests.Note", "c1");
            Assert.Equal(new byte[] { 7 }, stored?.Data);
        }
        finally
        {
            await TestPostgres.DropDatabaseAsync(connectionString);
        }
    }

    [Fact]
    public async Task A_postgres_server_that_refuses_the_connection_stops_startup_at_once_with_a_clear_message()
    {
        int port = FreePort();
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<ServiceStartupException>(() => RunningHost.StartAsync(Configure(new()
        {
            ["Courtyard:Storage:Provider"] = "postgres",
            ["Courtyard:Storage:ConnectionString"] = $"Host=127.0.0.1;Port={port};Database=councils;Username=courtyard;Password=secret-pw",
        })));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"failing took {clock.Elapsed}");
        Assert.StartsWith($"无法打开数据库 postgres 127.0.0.1:{port}/councils", error.Message);
        Assert.Contains($"Cannot open the database postgres 127.0.0.1:{port}/councils", error.Message);
        Assert.Contains("Courtyard__Storage__ConnectionString", error.Message);
        Assert.DoesNotContain("secret-pw", error.Message);
    }

    [Fact]
    public async Task A_postgres_connection_string_that_does_not_parse_is_refused_without_echoing_it()
    {
        var error = await Assert.ThrowsAsync<ServiceStartupException>(() => RunningHost.StartAsync(Configure(new()
        {
            ["Courtyard:Storage:Provider"] = "postgres",
            ["Courtyard:Storage:ConnectionString"] = "Host=127.0.0.1;Flavour=vanilla;Password=secret-pw",
        })));

        Assert.StartsWith("配置有误", error.Message);
        Assert.Contains("not a valid PostgreSQL connection string", error.Message);
        Assert.DoesNotContain("secret-pw", error.Message);
    }

    [Theory]
    [InlineData("Courtyard:Storage:Provider", "mysql", "Courtyard:Storage:Provider \"mysql\" is not one of sqlite, postgres")]
    [InlineData("Courtyard:Storage:ConnectionString", "Host=127.0.0.1", "Courtyard:Storage:ConnectionString is set but the provider is sqlite")]
    [InlineData("Courtyard:Events:Transport", "bogus", "Courtyard:Events:Transport \"bogus\" is not one of inproc, rabbitmq, dapr")]
    public async Task A_wrong_setting_stops_startup_with_a_clear_message(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAsync<ServiceStartupException>(() => RunningHost.StartAsync(Configure(new() { [key] = value })));

        Assert.StartsWith("配置有误", error.Message);
        Assert.Contains(expected, error.Message);
    }

    private static Action<WebApplicationBuilder> Configure(Dictionary<string, string?> settings) =>
        builder => builder.Configuration.AddInMemoryCollection(settings);

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }
}
