using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// Ready while this process's silo is an active member of its cluster and Orleans' own watchdogs (membership, cluster
/// health monitor) report nothing wrong: only then can it activate and reach grains.
/// </summary>
internal sealed class ClusterHealthCheck(ISiloStatusOracle oracle, IEnumerable<IHealthCheckParticipant> participants) : IHealthCheck
{
    private DateTime _lastCheck = DateTime.UtcNow;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = oracle.CurrentStatus;
        if (status != SiloStatus.Active)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"silo {oracle.SiloAddress} is {status}"));
        }
        var since = _lastCheck;
        _lastCheck = DateTime.UtcNow;
        foreach (var participant in participants)
        {
            if (!participant.CheckHealth(since, out string? reason))
            {
                return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"{participant.GetType().Name}: {reason}"));
            }
        }
        return Task.FromResult(HealthCheckResult.Healthy($"silo {oracle.SiloAddress} active"));
    }
}
