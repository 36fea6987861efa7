using System.Net;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Courtyard.ServiceDefaults.Tests.Grpc;

/// <summary>
/// Readiness and liveness as a Kubernetes gRPC probe, grpcurl or a load balancer see them: ASP.NET Core health checks
/// tagged "ready" decide grpc.health.v1's "" service, every hosted service's name and GET /healthz; "liveness" only
/// checks tagged "live".
/// </summary>
public sealed class HealthTests : IAsyncLifetime
{
    private readonly Switch _broker = new();
    private InteropTestServer _server = null!;
    private Health.HealthClient _health = null!;

    public async Task InitializeAsync()
    {
        _server = await InteropTestServer.StartAsync(configure: builder =>
            builder.Services.AddHealthChecks().AddCheck("broker", _broker, tags: [ServiceHealthChecks.ReadyTag]));
        _health = new Health.HealthClient(_server.Channel);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_ready_host_is_serving_as_a_whole_for_each_hosted_service_and_for_liveness()
    {
        foreach (string service in new[] { "", "courtyard.interop.v1.Interop", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", ServiceHealthChecks.LivenessService })
        {
            var reply = await CheckAsync(service);
            Assert.True(reply.Status == ServingStatus.Serving, $"\"{service}\" is {reply.Status}");
        }
        using var http = new HttpClient();
        using var healthz = await http.GetAsync(new Uri(_server.HttpAddress, "/healthz"));
        Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        Assert.Equal(new Version(1, 1), healthz.Version);
    }

    [Fact]
    public async Task An_unknown_service_is_NOT_FOUND()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _health.CheckAsync(new HealthCheckRequest { Service = "courtyard.nothing.v1.Nothing" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task A_failing_ready_check_takes_the_host_out_of_service_but_keeps_it_alive()
    {
        _broker.Healthy = false;

        var overall = await _health.CheckAsync(new HealthCheckRequest { Service = "" });
        var interop = await _health.CheckAsync(new HealthCheckRequest { Service = "courtyard.interop.v1.Interop" });
        var liveness = await _health.CheckAsync(new HealthCheckRequest { Service = ServiceHealthChecks.LivenessService });
        using var http = new HttpClient();
        using var healthz = await http.GetAsync(new Uri(_server.HttpAddress, "/healthz"));

        Assert.Equal(ServingStatus.NotServing, overall.Status);
        Assert.Equal(ServingStatus.NotServing, interop.Status);
        Assert.Equal(ServingStatus.Serving, liveness.Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, healthz.StatusCode);
    }

    [Fact]
    public async Task Watch_streams_the_status_then_its_change_within_seconds()
    {
        using var watch = _health.Watch(new HealthCheckRequest { Service = "" }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
        var changed = System.Diagnostics.Stopwatch.StartNew();

        _broker.Healthy = false;
        Assert.True(await watch.ResponseStream.MoveNext());

        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        Assert.True(changed.Elapsed < TimeSpan.FromSeconds(15), $"the change took {changed.Elapsed.TotalSeconds:F1} s to reach the watcher");
    }

    [Fact]
    public async Task A_stopping_host_tells_its_watchers_it_is_not_serving()
    {
        await using var server = await InteropTestServer.StartAsync();
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress(server.GrpcAddress);
        var health = new Health.HealthClient(channel);
        using var watch = health.Watch(new HealthCheckRequest { Service = "" }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.True(await watch.ResponseStream.MoveNext());

        var stopping = server.DisposeAsync().AsTask();
        Assert.True(await watch.ResponseStream.MoveNext());

        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        await stopping;
    }

    private async Task<HealthCheckResponse> CheckAsync(string service)
    {
        try
        {
            return await _health.CheckAsync(new HealthCheckRequest { Service = service });
        }
        catch (RpcException e)
        {
            throw new InvalidOperationException($"Check \"{service}\": {e.Status}", e);
        }
    }

    private sealed class Switch : IHealthCheck
    {
        public volatile bool Healthy = true;

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(Healthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("broker unreachable"));
    }
}
