using Courtyard.Events.Transports;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Courtyard.Events.Hosting;

/// <summary>Ready while the event transport can carry events (<see cref="IEventTransport.CheckConnectionAsync"/>).</summary>
internal sealed class BrokerHealthCheck(IEventTransport transport) : IHealthCheck
{
    /// <summary>The tag readiness checks carry in a Courtyard host (ServiceDefaults' ServiceHealthChecks.ReadyTag).</summary>
    public const string ReadinessTag = "ready";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await transport.CheckConnectionAsync(cancellationToken)
            ? HealthCheckResult.Healthy($"{transport.Name} connected")
            : new HealthCheckResult(context.Registration.FailureStatus, $"{transport.Name}: not connected to the broker");
}
