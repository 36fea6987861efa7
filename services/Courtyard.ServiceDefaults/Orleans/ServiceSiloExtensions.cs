using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace Courtyard.ServiceDefaults;

/// <summary>The Orleans silo a service co-hosts in its own process (<c>UseOrleans</c>), configured from "Courtyard:Orleans".</summary>
public static class ServiceSiloExtensions
{
    /// <summary>
    /// Failure detection for processes on one machine or one cluster network: a silo that stops answering is declared
    /// dead after two missed 1 s probes, so its grains are served again elsewhere about a second later (measured in
    /// tests/Courtyard.Clustering.Tests; DESIGN.md §3). Orleans' own defaults (5 s probes, 3 misses: 11–14 s here) are
    /// what Kubernetes uses, where a slow node must not be mistaken for a dead one. Any
    /// <c>Courtyard:Orleans:Membership:*</c> key (a ClusterMembershipOptions property) overrides either.
    /// </summary>
    public static readonly TimeSpan FastProbeTimeout = TimeSpan.FromSeconds(1);

    /// <inheritdoc cref="FastProbeTimeout"/>
    public const int FastNumMissedProbesLimit = 2;

    /// <summary>
    /// Hosts an Orleans silo in this process, once however often it is called: ServiceId and ClusterId, ports, clustering
    /// (localhost, or Redis for several processes), Orleans' Kubernetes hosting inside a pod, grain-call trace propagation,
    /// reminders, and the "cluster" readiness check. <see cref="ServiceStorageExtensions.AddServiceStorage"/> calls it;
    /// call it directly only for a host that has grains before any service declares storage (the embedded host).
    /// </summary>
    public static IHostApplicationBuilder AddServiceSilo(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Services.Any(service => service.ServiceType == typeof(SiloSettings)))
        {
            return builder;
        }
        var service = builder.Services.Select(d => d.ImplementationInstance).OfType<ServiceOptions>().FirstOrDefault()
            ?? throw new InvalidOperationException("Call builder.AddServiceDefaults(\"<service>\") before AddServiceSilo or AddServiceStorage.");
        var settings = SiloSettings.From(builder.Configuration, service);
        builder.Services.AddSingleton(settings);

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(cluster =>
            {
                cluster.ServiceId = settings.ServiceId;
                cluster.ClusterId = settings.ClusterId;
            });
            int siloPort = settings.SiloPort != 0 ? settings.SiloPort : SiloSettings.FreePort(settings.AdvertisedAddress ?? System.Net.IPAddress.Loopback);
            if (settings.InKubernetes)
            {
                // Pod name, pod IP (advertised, listening on every address) and the orleans/serviceId labels come from the pod.
                silo.Configure<EndpointOptions>(endpoints =>
                {
                    endpoints.SiloPort = siloPort;
                    endpoints.GatewayPort = settings.GatewayPort;
                });
                silo.UseKubernetesHosting();
            }
            else
            {
                silo.ConfigureEndpoints(settings.AdvertisedAddress!, siloPort, settings.GatewayPort);
            }
            switch (settings.Clustering)
            {
                case ClusteringKind.Localhost:
                    silo.UseDevelopmentClustering(new System.Net.IPEndPoint(settings.AdvertisedAddress ?? System.Net.IPAddress.Loopback, siloPort));
                    break;
                case ClusteringKind.Redis:
                    silo.UseRedisClustering(redis => redis.ConfigurationOptions = settings.Redis);
                    break;
            }
            silo.Configure<ClusterMembershipOptions>(membership =>
            {
                if (!settings.InKubernetes)
                {
                    membership.ProbeTimeout = FastProbeTimeout;
                    membership.NumMissedProbesLimit = FastNumMissedProbesLimit;
                }
                builder.Configuration.GetSection($"{SiloSettings.Section}:Membership").Bind(membership);
            });
            silo.AddActivityPropagation();
        });
        builder.Services.AddHealthChecks().AddCheck<ClusterHealthCheck>("cluster", tags: [ServiceHealthChecks.ReadyTag]);
        return builder;
    }
}
