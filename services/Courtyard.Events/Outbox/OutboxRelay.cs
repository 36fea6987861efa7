using System.Diagnostics;
using Courtyard.Events.Transports;
using Courtyard.Storage;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Outbox;

/// <summary>
/// Publishes a service's outbox rows and marks them sent, while it holds the lease <see cref="LeaseName"/> (one relay
/// per database: other replicas stay idle and take over within one lease period after the holder dies, at once when
/// it stops and releases the lease). Each holding is a <see cref="RelayTerm"/>, which knows nothing the next one needs:
/// everything durable is in the outbox. Woken when outbox rows commit through this process's storage
/// (<see cref="IOutboxStore.NextCommit"/>) or by <see cref="Wake"/>; otherwise (rows committed by another replica) it
/// looks for new rows every <see cref="EventBusOptions.RelayPollInterval"/>.
/// </summary>
public sealed class OutboxRelay
{
    private readonly EventBusOptions options;
    private readonly IOutboxStore outbox;
    private readonly IEventTransport transport;
    private readonly ILogger logger;
    private readonly SemaphoreSlim signal = new(0, 1);

    // The lease, on the monotonic clock.
    private long leaseValidUntil;
    private long leaseRenewAt;
    private long nextLeaseAttemptAt;
    private RelayTerm? term;
    private CancellationTokenSource? termScope;

    public OutboxRelay(EventBusOptions options, IOutboxStore outbox, IEventTransport transport, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RelayLeaseDuration, TimeSpan.Zero);
        this.options = options;
        this.outbox = outbox;
        this.transport = transport;
        this.logger = logger;
        LeaseName = "outbox-relay/" + options.Source;
        LeaseHolder = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    }

    public string Source => options.Source;

    /// <summary>The lease that makes this relay the only one of its database: "outbox-relay/&lt;source&gt;".</summary>
    public string LeaseName { get; }

    /// <summary>This relay's identity in the lease (machine/process/random).</summary>
    public string LeaseHolder { get; }

    /// <summary>True while this relay holds the lease and publishes.</summary>
    public bool HoldsLease => Volatile.Read(ref term) is not null;

    /// <summary>Outbox lag as last read by the lease holder (about once a second while it relays).</summary>
    public OutboxStats LastStats { get; private set; } = new(0, null);

    /// <summary>Rows were committed (or an operator released a parked row): run a pass now instead of at the next poll.</summary>
    public void Wake()
    {
        if (signal.CurrentCount > 0)
        {
            return;
        }
        try
        {
            signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Another thread woke it first: one pending signal is enough.
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var statsDueAt = DateTimeOffset.MinValue;
        var wakingOnCommits = WakeOnCommitsAsync(cancellationToken);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var wait = options.RelayPollInterval;
                try
                {
                    if (await KeepLeaseAsync(cancellationToken))
                    {
                        if (DateTimeOffset.UtcNow >= statsDueAt)
                        {
                            LastStats = await outbox.GetStatsAsync(cancellationToken);
                            statsDueAt = DateTimeOffset.UtcNow.AddSeconds(1);
                        }
                        wait = Min(await term!.PassAsync(_ => Stopwatch.GetTimestamp() < leaseValidUntil), Remaining(leaseRenewAt));
                    }
                    else
                    {
                        wait = Min(LeaseAttemptInterval, Remaining(nextLeaseAttemptAt));
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    logger.LogWarning(e, "Outbox relay of {Source}: a pass failed; retrying in {Delay}.", Source, options.RelayPollInterval);
                }
                try
                {
                    await signal.WaitAsync(wait, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            if (term is not null)
            {
                await StepDownAsync(releaseLease: true);
            }
            await wakingOnCommits;
        }
    }

    // Each commit of outbox rows through this process's storage ends the relay's sleep.
    private async Task WakeOnCommitsAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await outbox.NextCommit().WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Wake();
        }
    }

    // A replica without the lease tries again this often: with renewals every third of the duration, it takes over
    // at most one lease period after the holder's last renewal plus this.
    private TimeSpan LeaseAttemptInterval => Min(options.RelayPollInterval, options.RelayLeaseDuration / 3);

    /// <summary>Claims or renews the lease when due; false while another relay holds it.</summary>
    private async Task<bool> KeepLeaseAsync(CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        if (term is not null && now < leaseRenewAt)
        {
            return true;
        }
        if (term is null && now < nextLeaseAttemptAt)
        {
            return false;
        }
        bool acquired;
        try
        {
            acquired = await outbox.TryAcquireRelayLeaseAsync(LeaseName, LeaseHolder, options.RelayLeaseDuration, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            if (term is not null && Stopwatch.GetTimestamp() < leaseValidUntil)
            {
                logger.LogWarning(e, "Outbox relay of {Source}: could not renew the relay lease; still valid for {Remaining}, retrying.",
                    Source, Remaining(leaseValidUntil));
                leaseRenewAt = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 5;
                return true;
            }
            logger.LogWarning(e, "Outbox relay of {Source}: could not claim the relay lease.", Source);
            acquired = false;
        }
        if (acquired)
        {
            // Counted from before the request: the database's expiry is later than what this relay believes.
            var duration = (long)(options.RelayLeaseDuration.TotalSeconds * Stopwatch.Frequency);
            leaseValidUntil = now + duration;
            leaseRenewAt = now + duration / 3;
            if (term is null)
            {
                termScope = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                Volatile.Write(ref term, new RelayTerm(options, outbox, transport, logger, Wake, termScope.Token));
                EventMetrics.Register(this);
                logger.LogInformation("Outbox relay of {Source} holds the relay lease {Lease} as {Holder} and relays.", Source, LeaseName, LeaseHolder);
            }
            return true;
        }
        if (term is not null)
        {
            logger.LogWarning("Outbox relay of {Source}: lost the relay lease {Lease}; another replica relays now.", Source, LeaseName);
            await StepDownAsync(releaseLease: false);
        }
        nextLeaseAttemptAt = Stopwatch.GetTimestamp() + (long)(LeaseAttemptInterval.TotalSeconds * Stopwatch.Frequency);
        return false;
    }

    /// <summary>Stops publishing: in-flight publishes are cancelled, what the transport accepted is marked sent, the term is dropped.</summary>
    private async Task StepDownAsync(bool releaseLease)
    {
        var ending = term!;
        Volatile.Write(ref term, null);
        EventMetrics.Unregister(this);
        await termScope!.CancelAsync();
        await ending.EndAsync();
        if (releaseLease)
        {
            try
            {
                await outbox.ReleaseRelayLeaseAsync(LeaseName, LeaseHolder, CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Outbox relay of {Source}: could not release the relay lease; another replica takes over when it expires.", Source);
            }
        }
        termScope.Dispose();
        termScope = null;
    }

    private static TimeSpan Remaining(long timestamp)
    {
        var now = Stopwatch.GetTimestamp();
        return timestamp <= now ? TimeSpan.Zero : Stopwatch.GetElapsedTime(now, timestamp);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
