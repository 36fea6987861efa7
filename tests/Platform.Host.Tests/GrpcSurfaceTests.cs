using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Host.Tests.Probe;

namespace Platform.Host.Tests;

/// <summary>What a gRPC client sees of the embedded host, and what the host gives a service registered in it.</summary>
public sealed class GrpcSurfaceTests
{
    private static DateTime Within(int seconds) => DateTime.UtcNow.AddSeconds(seconds);

    [Fact]
    public async Task Health_check_reports_the_host_as_serving()
    {
        await using var host = await RunningHost.StartAsync();
        var health = new Health.HealthClient(host.Channel);

        var overall = await health.CheckAsync(new HealthCheckRequest { Service = "" }, deadline: Within(10));
        var liveness = await health.CheckAsync(new HealthCheckRequest { Service = "liveness" }, deadline: Within(10));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, liveness.Status);
    }

    [Fact]
    public async Task Reflection_lists_every_hosted_service()
    {
        await using var host = await RunningHost.StartWithProbeAsync();

        var names = await ListServicesAsync(host);

        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1.ServerReflection", names);
        Assert.Contains("grpc.reflection.v1alpha.ServerReflection", names);
        Assert.Contains("courtyard.hosttests.v1.Probe", names);
    }

    [Fact]
    public async Task A_service_in_the_host_keeps_its_grains_state_in_its_own_SQLite_file_in_the_data_folder()
    {
        await using var host = await RunningHost.StartWithProbeAsync();
        var probe = new Probe.Probe.ProbeClient(host.Channel);

        var first = await probe.TouchAsync(new TouchRequest { CourtyardId = "courtyard-7" }, deadline: Within(10));
        var second = await probe.TouchAsync(new TouchRequest { CourtyardId = "courtyard-7" }, deadline: Within(10));
        var other = await probe.TouchAsync(new TouchRequest { CourtyardId = "courtyard-8" }, deadline: Within(10));

        Assert.Equal((1, 2, 1), (first.Touches, second.Touches, other.Touches));
        string file = Path.Combine(host.DataDir, "hosttests.db");
        Assert.True(File.Exists(file), $"no SQLite file at {file}");
        Assert.Contains($"storage hosttests: sqlite {file}", PlatformHost.DescribeAddresses(host.App));
    }

    [Theory]
    [InlineData("Courtyard:Storage:Provider", "mysql", "Courtyard:Storage:Provider (Courtyard__Storage__Provider) \"mysql\" is not one of sqlite, postgres")]
    [InlineData("ConnectionStrings:hosttests", "Host=127.0.0.1", "ConnectionStrings:hosttests is set but Courtyard:Storage:Provider is sqlite")]
    public async Task A_wrong_setting_stops_the_host_with_a_clear_message(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAsync<Courtyard.ServiceDefaults.ServiceStartupException>(() =>
            RunningHost.StartWithProbeAsync(builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value })));

        Assert.StartsWith("配置有误", error.Message);
        Assert.Contains(expected, error.Message);
    }

    private static async Task<List<string>> ListServicesAsync(RunningHost host)
    {
        var reflection = new ServerReflection.ServerReflectionClient(host.Channel);
        using var call = reflection.ServerReflectionInfo(deadline: Within(10));
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        var names = new List<string>();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            names.AddRange(response.ListServicesResponse.Service.Select(s => s.Name));
        }
        return names;
    }
}
