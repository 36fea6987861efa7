using Courtyard.Interop.V1;
using Courtyard.ServiceDefaults.Tests.Grpc;
using Courtyard.Storage;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Courtyard.ServiceDefaults.Tests.Orleans;

/// <summary>A service host with its co-hosted silo and its storage, as <c>AddServiceStorage("probe")</c> sets them up.</summary>
public sealed class ServiceSiloTests : IAsyncLifetime
{
    private InteropTestServer _host = null!;

    public async Task InitializeAsync() =>
        _host = await InteropTestServer.StartAsync<GrainInteropService>(configure: builder => builder.AddServiceStorage("probe"));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_gRPC_handler_reaches_the_services_grain_and_its_state_lasts_between_calls()
    {
        var first = await _host.Client.EchoAsync(new EchoRequest { Text = "one" });
        var second = await _host.Client.EchoAsync(new EchoRequest { Text = "two" });

        Assert.Equal(("1", "2"), (first.Text, second.Text));
    }

    [Fact]
    public async Task A_refusal_thrown_in_a_grain_crosses_the_grain_call_and_reaches_the_caller_as_its_status()
    {
        var before = await _host.Client.EchoAsync(new EchoRequest { Text = "count" });

        var error = await Assert.ThrowsAsync<RpcException>(() => _host.Client.EchoAsync(new EchoRequest { Text = "refuse" }).ResponseAsync);
        var after = await _host.Client.EchoAsync(new EchoRequest { Text = "count" });

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("计数已封存。 The count is sealed.", error.Status.Detail);
        Assert.Equal(int.Parse(before.Text) + 1, int.Parse(after.Text));   // the refusal changed nothing
    }

    [Fact]
    public async Task The_silo_uses_the_services_name_and_localhost_clustering_by_default()
    {
        var settings = _host.Services.GetRequiredService<SiloSettings>();
        var cluster = _host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::Orleans.Configuration.ClusterOptions>>().Value;

        Assert.Equal(ClusteringKind.Localhost, settings.Clustering);
        Assert.Equal(("interop", "interop"), (cluster.ServiceId, cluster.ClusterId));
        Assert.Equal(SiloStatus.Active, _host.Services.GetRequiredService<ISiloStatusOracle>().CurrentStatus);
    }

    [Fact]
    public async Task Readiness_includes_the_cluster_and_the_storage()
    {
        var health = new Health.HealthClient(_host.Channel);
        var report = await _host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync();

        var overall = await health.CheckAsync(new HealthCheckRequest());

        Assert.Equal(ServingStatus.Serving, overall.Status);
        Assert.Contains("cluster", report.Entries.Keys);
        Assert.Contains("storage:probe", report.Entries.Keys);
        Assert.All(report.Entries.Values, entry => Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, entry.Status));
    }

    [Fact]
    public void The_storage_is_the_services_own_SQLite_file_in_the_data_folder_open_before_any_grain_runs()
    {
        var settings = _host.Services.GetServices<StorageSettings>().Single();
        var storage = _host.Services.GetRequiredKeyedService<IStorageProvider>("probe");

        Assert.Equal(StorageProviderKind.Sqlite, settings.Provider);
        Assert.Equal("probe.db", Path.GetFileName(settings.Target));
        Assert.Equal(_host.Services.GetRequiredService<ServiceOptions>().DataDir, Path.GetDirectoryName(settings.Target));
        Assert.True(File.Exists(settings.Target), $"no SQLite file at {settings.Target}");
        Assert.IsType<Courtyard.Storage.Sqlite.SqliteStorageProvider>(storage);
    }
}
