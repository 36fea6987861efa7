using Grpc.AspNetCore.HealthChecks;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

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
        builder.Services.AddSingleton<HostedEndpoints>();
        builder.Services.AddHostedService<PerServiceHealth>();
        // Watchers hear about a change within seconds, not the framework's 30 s.
        builder.Services.Configure<HealthCheckPublisherOptions>(publisher =>
        {
            publisher.Delay = TimeSpan.FromSeconds(1);
            publisher.Period = TimeSpan.FromSeconds(5);
        });
    }

    internal static void MapServiceHealthChecks(this WebApplication app)
    {
        app.Services.GetRequiredService<HostedEndpoints>().Sources = ((IEndpointRouteBuilder)app).DataSources;
        app.MapGrpcHealthChecksService();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) }).AllowAnonymous();
    }

    /// <summary>The full names of the gRPC services this host maps (grpc.health.v1.Health, courtyard.councils.v1.Councils, …).</summary>
    public static IReadOnlyList<string> HostedGrpcServices(IServiceProvider services) =>
        (services.GetRequiredService<HostedEndpoints>().Sources ?? [])
            .SelectMany(source => source.Endpoints)
            .Select(endpoint => endpoint.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.ServiceName)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>The app's endpoint sources, kept by MapServiceDefaults: the services are mapped after it, and read once the host starts.</summary>
    private sealed class HostedEndpoints
    {
        public ICollection<EndpointDataSource>? Sources { get; set; }
    }

    /// <summary>
    /// Lets every hosted gRPC service answer grpc.health.v1 for itself, with the readiness of the process. Runs as the
    /// host starts (after every Map… call, before Kestrel listens): Grpc.AspNetCore.HealthChecks reads its mappings live.
    /// </summary>
    private sealed class PerServiceHealth(IServiceProvider services, IOptions<GrpcHealthChecksOptions> options) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken)
        {
            foreach (string service in HostedGrpcServices(services))
            {
                options.Value.Services.Map(service, check => check.Tags.Contains(ReadyTag));
            }
            return Task.CompletedTask;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Unhealthy from the moment the host begins to stop, so probes take the process out before it goes.</summary>
    private sealed class HostHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
                ? HealthCheckResult.Unhealthy("stopping")
                : HealthCheckResult.Healthy());
    }
}
