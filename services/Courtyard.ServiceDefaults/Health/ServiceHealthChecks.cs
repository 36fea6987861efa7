using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// Readiness and liveness as ASP.NET Core health checks, served by Grpc.AspNetCore.HealthChecks as grpc.health.v1 (what
/// Kubernetes' gRPC probes call) and as <c>GET /healthz</c>. A building block adds its check with a tag:
/// <code>builder.Services.AddHealthChecks().AddCheck&lt;BrokerHealthCheck&gt;("broker", tags: [ServiceHealthChecks.ReadyTag]);</code>
/// </summary>
public static class ServiceHealthChecks
{
    /// <summary>Checks with this tag decide readiness: the "" service of grpc.health.v1, every hosted gRPC service's name, and /healthz.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Checks with this tag decide liveness: the "liveness" service of grpc.health.v1 (a failing one gets the process restarted).</summary>
    public const string LiveTag = "live";

    /// <summary>The grpc.health.v1 service name a liveness probe asks for.</summary>
    public const string LivenessService = "liveness";

    internal static void AddServiceHealthChecks(this WebApplicationBuilder builder)
    {
        builder.Services.AddGrpcHealthChecks(options =>
        {
            options.Services.Map("", check => check.Tags.Contains(ReadyTag));
            options.Services.Map(LivenessService, check => check.Tags.Contains(LiveTag));
        }).AddCheck<HostHealthCheck>("host", tags: [ReadyTag, LiveTag]);
        // Every hosted gRPC service answers for itself too, with the readiness of the process.
        builder.Services.AddOptions<Grpc.AspNetCore.HealthChecks.GrpcHealthChecksOptions>()
            .PostConfigure<EndpointDataSource>((options, endpoints) =>
            {
                foreach (string service in HostedGrpcServices(endpoints))
                {
                    options.Services.Map(service, check => check.Tags.Contains(ReadyTag));
                }
            });
        // Watchers hear about a change within seconds, not the framework's 30 s.
        builder.Services.Configure<HealthCheckPublisherOptions>(publisher =>
        {
            publisher.Delay = TimeSpan.FromSeconds(1);
            publisher.Period = TimeSpan.FromSeconds(5);
        });
    }

    internal static void MapServiceHealthChecks(this WebApplication app)
    {
        app.MapGrpcHealthChecksService();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
    }

    /// <summary>The full names of the gRPC services this process maps (grpc.health.v1.Health, courtyard.councils.v1.Councils, …).</summary>
    public static IReadOnlyList<string> HostedGrpcServices(EndpointDataSource endpoints) =>
        endpoints.Endpoints
            .Select(endpoint => endpoint.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.ServiceName)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Unhealthy from the moment the host begins to stop, so probes take the process out before it goes.</summary>
    private sealed class HostHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
                ? HealthCheckResult.Unhealthy("stopping")
                : HealthCheckResult.Healthy());
    }
}
