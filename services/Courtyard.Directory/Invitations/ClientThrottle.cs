using System.Threading.RateLimiting;
using Courtyard.ServiceDefaults;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Courtyard.Directory.Invitations;

/// <summary>
/// Failed attempts to redeem a code or sign in, per client address (System.Threading.RateLimiting token buckets): a
/// client may fail <c>FailuresPerClient</c> times, then a few times a minute. Successes cost nothing. Per process: with
/// several replicas a client gets that many per replica; per-account limits (<see cref="Accounts.AccountGrain"/>) hold
/// across all. Behind a proxy, configure ASP.NET Core's forwarded headers so the address is the client's.
/// </summary>
public sealed class ClientThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string> failures;

    public ClientThrottle(IOptions<DirectoryOptions> options)
    {
        var settings = options.Value.Throttle;
        failures = PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, settings.FailuresPerClient),
            TokensPerPeriod = Math.Max(1, settings.FailuresPerMinute),
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>Refuses the attempt when the client has no failures left.</summary>
    public void RequireAllowance(string client)
    {
        if (failures.GetStatistics(client)?.CurrentAvailablePermits is 0)
        {
            throw new RequestRefusedException(StatusCode.ResourceExhausted,
                "尝试次数过多，请过几分钟再试。", "Too many failed attempts from this address; wait a few minutes and try again.");
        }
    }

    public void RecordFailure(string client)
    {
        using var lease = failures.AttemptAcquire(client);
    }

    public void Dispose() => failures.Dispose();
}
