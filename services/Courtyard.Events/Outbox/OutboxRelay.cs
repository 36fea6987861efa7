using System.Diagnostics;
using Courtyard.Events.Transports;
using Courtyard.Storage;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Outbox;

/// <summary>
/// Publishes a service's outbox rows and marks them sent.
/// <list type="bullet">
/// <item>One relay per database: it relays only while it holds the lease <see cref="LeaseName"/> (renewed every third of
/// <see cref="EventBusOptions.RelayLeaseDuration"/>). Other replicas stay idle and take over within one lease period after
/// the holder dies, at once when it stops (it releases the lease). A holder that cannot renew stops publishing before its
/// lease can expire.</item>
/// <item>A cursor: each pass reads only the rows after the last id up to which every id has been seen. Rows read and not
/// yet published wait in memory per partition (courtyard), in id order, one publish at a time per partition. A failed
/// publish puts its rows back at the head of their partition, which waits (exponential backoff, capped, jittered) while
/// the others flow.</item>
/// <item>Holes: a row read above a missing id is held, whatever its courtyard, until the missing id shows up (a
/// transaction that took the id earlier commits later: PostgreSQL with several writer loops or replicas) or
/// <see cref="EventBusOptions.RelayLateCommitWait"/> passes (the id was rolled back, or its row was sent before this
/// relay started). SQLite commits ids in order: no holes.</item>
/// <item>A sweep over the unsent rows from the first, every poll interval, brings in what the cursor passed without
/// keeping: a row committed later than that wait, and rows of a partition that already had too many rows waiting (a
/// long-blocked courtyard; they come in, in order, as it drains).</item>
/// </list>
/// Woken by <see cref="Wake"/> after a commit; rows committed by other processes are found at the next poll.
/// </summary>
public sealed class OutboxRelay
{
    private readonly EventBusOptions options;
    private readonly IOutboxStore outbox;
    private readonly IEventTransport transport;
    private readonly ILogger logger;
    private readonly SemaphoreSlim signal = new(0, 1);
    private readonly int partitionLimit;

    private readonly Lock gate = new();
    private readonly Dictionary<string, PartitionState> partitions = new(StringComparer.Ordinal);
    private readonly Queue<PartitionState> ready = new();
    private readonly PriorityQueue<PartitionState, DateTimeOffset> backingOff = new();
    // Ids waiting, in flight, or published and not yet marked sent: a read that returns them again skips them.
    private readonly HashSet<long> known = [];
    private readonly List<long> pendingMarks = [];
    private readonly HashSet<Task> units = [];
    // Every id up to here is accounted for (read, below the term's first unsent row, or declared unused); rows read above
    // a missing id are held until it shows up or the late-commit wait passes.
    private long contiguousUpTo;
    private bool positioned;
    private readonly SortedList<long, (OutboxRecord Row, DateTimeOffset FirstSeen)> held = [];
    private int waitingRows;
    private int skippedRows;
    private int skippedDuringSweep;
    private int rowsInFlight;
    private long? sweepPosition;
    private DateTimeOffset nextSweepAt;
    private bool sweepWanted;
    // Marks commit alongside the passes (one flush at a time); their ids stay known until committed.
    private Task flushing = Task.CompletedTask;
    private DateTimeOffset nextFlushAt;
    // Ids whose marks committed while a sweep page was being read: that page may still list them as unsent.
    private HashSet<long>? markedDuringSweepRead;
    private DateTimeOffset statsDueAt;

    // The lease, on the monotonic clock. A term is one uninterrupted holding of it; state never crosses terms.
    private volatile bool holdsLease;
    private long leaseValidUntil;
    private long leaseRenewAt;
    private long nextLeaseAttemptAt;
    private int term;
    private CancellationTokenSource? termScope;

    private sealed class PartitionState(string name)
    {
        public string Name { get; } = name;
        public List<OutboxRecord> Waiting { get; } = [];   // sorted by id
        public bool InFlight;
        public bool Queued;
        public int Failures;
        public DateTimeOffset BackoffUntil;
        // Rows of it were passed by the cursor and left in the database; the sweep brings them in, in order.
        public bool Overflowed;
        public bool OverflowedDuringSweep;
    }

    public OutboxRelay(EventBusOptions options, IOutboxStore outbox, IEventTransport transport, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RelayLeaseDuration, TimeSpan.Zero);
        this.options = options;
        this.outbox = outbox;
        this.transport = transport;
        this.logger = logger;
        partitionLimit = Math.Max(2 * options.RelayMaxRowsPerPublish, 2);
        LeaseName = "outbox-relay/" + options.Source;
        LeaseHolder = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    }

    public string Source => options.Source;

    /// <summary>The lease that makes this relay the only one of its database: "outbox-relay/&lt;source&gt;".</summary>
    public string LeaseName { get; }

    /// <summary>This relay's identity in the lease (machine/process/random).</summary>
    public string LeaseHolder { get; }

    /// <summary>True while this relay holds the lease and publishes.</summary>
    public bool HoldsLease => holdsLease;

    /// <summary>Outbox lag as last read by the lease holder (refreshed about once a second while it relays).</summary>
    public OutboxStats LastStats { get; private set; } = new(0, null);

    /// <summary>Signals that rows were committed: the relay runs a pass now instead of at the next poll.</summary>
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
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var wait = options.RelayPollInterval;
                try
                {
                    wait = await KeepLeaseAsync(cancellationToken)
                        ? Min(await PassAsync(termScope!.Token), Remaining(leaseRenewAt))
                        : Min(LeaseAttemptInterval, Remaining(nextLeaseAttemptAt));
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
            if (holdsLease)
            {
                await StepDownAsync(releaseLease: true);
            }
        }
    }

    // A replica without the lease tries again this often: with renewals every third of the duration, it takes over
    // at most one lease period after the holder's last renewal plus this.
    private TimeSpan LeaseAttemptInterval => Min(options.RelayPollInterval, options.RelayLeaseDuration / 3);

    /// <summary>Claims or renews the lease when due; false while another relay holds it.</summary>
    private async Task<bool> KeepLeaseAsync(CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        if (holdsLease && now < leaseRenewAt)
        {
            return true;
        }
        if (!holdsLease && now < nextLeaseAttemptAt)
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
            if (holdsLease && Stopwatch.GetTimestamp() < leaseValidUntil)
            {
                logger.LogWarning(e, "Outbox relay of {Source}: could not renew the relay lease; still valid for {Remaining}, retrying.",
                    Source, Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), leaseValidUntil));
                leaseRenewAt = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 5;
                return true;
            }
            logger.LogWarning(e, "Outbox relay of {Source}: could not claim the relay lease.", Source);
            acquired = false;
        }
        var duration = (long)(options.RelayLeaseDuration.TotalSeconds * Stopwatch.Frequency);
        if (acquired)
        {
            // Counted from before the request: the database's expiry is later than what this relay believes.
            leaseValidUntil = now + duration;
            leaseRenewAt = now + duration / 3;
            if (!holdsLease)
            {
                BeginTerm(cancellationToken);
            }
            return true;
        }
        if (holdsLease)
        {
            logger.LogWarning("Outbox relay of {Source}: lost the relay lease {Lease}; another replica relays now.", Source, LeaseName);
            await StepDownAsync(releaseLease: false);
        }
        nextLeaseAttemptAt = Stopwatch.GetTimestamp() + (long)(LeaseAttemptInterval.TotalSeconds * Stopwatch.Frequency);
        return false;
    }

    private void BeginTerm(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            ClearState();
            term++;
        }
        termScope = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        nextSweepAt = DateTimeOffset.UtcNow + options.RelayPollInterval;
        statsDueAt = default;
        holdsLease = true;
        EventMetrics.Register(this);
        logger.LogInformation("Outbox relay of {Source} holds the relay lease {Lease} as {Holder} and relays.", Source, LeaseName, LeaseHolder);
    }

    /// <summary>Stops publishing: in-flight publishes are cancelled, what the transport accepted is marked sent, memory is dropped.</summary>
    private async Task StepDownAsync(bool releaseLease)
    {
        holdsLease = false;
        EventMetrics.Unregister(this);
        await termScope!.CancelAsync();
        Task[] running;
        lock (gate)
        {
            running = [.. units];
        }
        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
        await flushing.ContinueWith(_ => { }, TaskScheduler.Default);
        // What the transport confirmed must not be published again by the next holder.
        try
        {
            await FlushMarksAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Outbox relay of {Source}: could not mark the last published rows sent; they will be published again.", Source);
        }
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
        lock (gate)
        {
            ClearState();
            term++;
        }
        termScope.Dispose();
        termScope = null;
    }

    private void ClearState()
    {
        partitions.Clear();
        ready.Clear();
        backingOff.Clear();
        known.Clear();
        pendingMarks.Clear();
        held.Clear();
        contiguousUpTo = 0;
        positioned = false;
        waitingRows = skippedRows = skippedDuringSweep = rowsInFlight = 0;
        sweepPosition = null;
        sweepWanted = false;
    }

    /// <summary>One pass: commit marks, read new rows, continue the sweep, start a publish for every partition that may go. Returns how long to wait.</summary>
    private async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        // Marks are committed while the relay goes on publishing, one flush at a time: whatever is accepted during one
        // flush's fsync goes into the next, so the batches grow with the load and a pass never waits on the disk.
        var wait = options.RelayPollInterval;
        if (flushing.IsCompleted)
        {
            if (flushing.IsFaulted)
            {
                logger.LogWarning(flushing.Exception!.GetBaseException(), "Outbox relay of {Source}: could not mark published rows sent; retrying.", Source);
                flushing = Task.CompletedTask;
                nextFlushAt = now + TimeSpan.FromMilliseconds(200);   // the ids are pending again; do not spin on a failing database
            }
            if (pendingMarks.Count > 0 && now >= nextFlushAt)
            {
                flushing = FlushMarksAsync(cancellationToken);
                _ = flushing.ContinueWith(_ => Wake(), TaskScheduler.Default);
            }
            else if (pendingMarks.Count > 0)
            {
                wait = nextFlushAt - now;
            }
        }
        if (now >= statsDueAt)
        {
            LastStats = await outbox.GetStatsAsync(cancellationToken);
            statsDueAt = now.AddSeconds(1);
        }

        int room, heldRows;
        lock (gate)
        {
            heldRows = held.Count;
            room = options.RelayMaxBufferedRows - waitingRows - skippedRows - heldRows;
        }
        if (room > 0)
        {
            // Held rows come back with the read (they are above the hole it starts at): read past them.
            var want = Math.Min(options.RelayReadBatch, room) + heldRows;
            var rows = await outbox.ReadUnsentAsync(want, contiguousUpTo, cancellationToken);
            lock (gate)
            {
                TakeAfterCursor(rows, DateTimeOffset.UtcNow);
            }
            if (rows.Count == want)
            {
                wait = TimeSpan.Zero;   // more rows are there
            }
        }
        lock (gate)
        {
            if (held.Count > 0)
            {
                // A hole: look again shortly for the row that fills it; publish past it once the wait is over.
                var now2 = DateTimeOffset.UtcNow;
                ReleaseHolesOlderThan(now2 - options.RelayLateCommitWait);
                if (held.Count > 0)
                {
                    wait = Min(wait, Min(TimeSpan.FromMilliseconds(20), held.Values[0].FirstSeen + options.RelayLateCommitWait - now2));
                }
            }
        }

        if (sweepPosition is null && (sweepWanted || now >= nextSweepAt))
        {
            lock (gate)
            {
                StartSweep();
            }
        }
        if (sweepPosition is { } from)
        {
            lock (gate)
            {
                markedDuringSweepRead = [];
            }
            var rows = await outbox.ReadUnsentAsync(options.RelayReadBatch, from, cancellationToken);
            lock (gate)
            {
                var marked = markedDuringSweepRead!;
                markedDuringSweepRead = null;
                var done = rows.Count < options.RelayReadBatch;
                foreach (var row in rows)
                {
                    if (row.Id > contiguousUpTo)
                    {
                        done = true;   // the cursor's side: read (or held) by the fast path
                        break;
                    }
                    if (!marked.Contains(row.Id))
                    {
                        Take(row, sweeping: true);
                    }
                    sweepPosition = row.Id;
                }
                if (done)
                {
                    EndSweep();
                }
                else
                {
                    wait = TimeSpan.Zero;
                }
            }
        }

        lock (gate)
        {
            now = DateTimeOffset.UtcNow;
            while (backingOff.TryPeek(out var waited, out var until) && until <= now)
            {
                backingOff.Dequeue();
                MakeReady(waited, now);
            }
            if (backingOff.TryPeek(out _, out var nextRetry))
            {
                wait = Min(wait, nextRetry - now);
            }
            if (sweepPosition is null)
            {
                wait = Min(wait, nextSweepAt - now);
            }
            // Never start a publish on a lease this relay may no longer hold.
            var mayPublish = Stopwatch.GetTimestamp() < leaseValidUntil;
            while (mayPublish && rowsInFlight < options.RelayMaxInFlightRows && ready.TryDequeue(out var partition))
            {
                partition.Queued = false;
                if (partition.InFlight || partition.Waiting.Count == 0 || partition.BackoffUntil > now)
                {
                    continue;
                }
                var count = Math.Min(partition.Waiting.Count, options.RelayMaxRowsPerPublish);
                var batch = partition.Waiting.GetRange(0, count);
                partition.Waiting.RemoveRange(0, count);
                waitingRows -= count;
                partition.InFlight = true;
                rowsInFlight += count;
                var unit = PublishPartitionAsync(partition, batch, term, cancellationToken);
                units.Add(unit);
                _ = unit.ContinueWith(t => { lock (gate) { units.Remove(t); } }, TaskScheduler.Default);
            }
        }
        // Finished publishes wake the relay; otherwise the next pass is at the poll (or when a backoff or the sweep is due).
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }

    /// <summary>Rows read after the cursor: contiguous ones go to their partitions, rows above a missing id are held.</summary>
    private void TakeAfterCursor(IReadOnlyList<OutboxRecord> rows, DateTimeOffset now)
    {
        if (!positioned && rows.Count > 0)
        {
            // Below the first unsent row of a new term everything counts as sent (a row still being committed there is
            // a late commit, left to the sweep).
            contiguousUpTo = rows[0].Id - 1;
            positioned = true;
        }
        foreach (var row in rows)
        {
            if (row.Id <= contiguousUpTo || held.ContainsKey(row.Id))
            {
                continue;
            }
            if (row.Id == contiguousUpTo + 1)
            {
                Take(row, sweeping: false);
                contiguousUpTo = row.Id;
                ReleaseContiguousHeld();
            }
            else
            {
                held.Add(row.Id, (row, now));
            }
        }
    }

    /// <summary>Declares the hole below the lowest held row unused once it has waited long enough, and releases what follows.</summary>
    private void ReleaseHolesOlderThan(DateTimeOffset firstSeenBefore)
    {
        while (held.Count > 0 && held.Values[0].FirstSeen <= firstSeenBefore)
        {
            contiguousUpTo = held.Keys[0] - 1;
            ReleaseContiguousHeld();
        }
    }

    private void ReleaseContiguousHeld()
    {
        while (held.Count > 0 && held.Keys[0] == contiguousUpTo + 1)
        {
            var row = held.Values[0].Row;
            held.RemoveAt(0);
            Take(row, sweeping: false);
            contiguousUpTo = row.Id;
        }
    }

    /// <summary>Keeps a row read from the outbox in its partition's queue, in id order, unless it is known or must stay in the database.</summary>
    private void Take(OutboxRecord row, bool sweeping)
    {
        if (known.Contains(row.Id))
        {
            return;
        }
        if (!partitions.TryGetValue(row.Partition, out var partition))
        {
            partitions[row.Partition] = partition = new PartitionState(row.Partition);
        }
        if (partition.Overflowed && !sweeping)
        {
            skippedRows++;   // its earlier rows are still in the database: only the sweep may bring this one in after them
            return;
        }
        if (partition.Waiting.Count >= partitionLimit)
        {
            partition.Overflowed = true;
            if (sweeping)
            {
                partition.OverflowedDuringSweep = true;
                skippedDuringSweep++;
            }
            else
            {
                skippedRows++;
            }
            var newest = partition.Waiting[^1];
            if (newest.Id < row.Id)
            {
                return;
            }
            // A late commit sorting before waiting rows: it stays, the newest waiting row goes back to the database.
            partition.Waiting.RemoveAt(partition.Waiting.Count - 1);
            known.Remove(newest.Id);
            waitingRows--;
        }
        Insert(partition.Waiting, row);
        known.Add(row.Id);
        waitingRows++;
        MakeReady(partition, DateTimeOffset.UtcNow);
    }

    private static void Insert(List<OutboxRecord> waiting, OutboxRecord row)
    {
        if (waiting.Count == 0 || waiting[^1].Id < row.Id)
        {
            waiting.Add(row);
            return;
        }
        var index = waiting.FindIndex(r => r.Id > row.Id);
        waiting.Insert(index, row);
    }

    private void MakeReady(PartitionState partition, DateTimeOffset now)
    {
        if (!partition.Queued && !partition.InFlight && partition.Waiting.Count > 0 && partition.BackoffUntil <= now)
        {
            partition.Queued = true;
            ready.Enqueue(partition);
        }
    }

    private void StartSweep()
    {
        sweepPosition = 0;
        sweepWanted = false;
        skippedDuringSweep = 0;
        foreach (var partition in partitions.Values)
        {
            partition.OverflowedDuringSweep = false;
        }
    }

    /// <summary>The sweep reached the cursor: every partition it could take in completely is whole again.</summary>
    private void EndSweep()
    {
        sweepPosition = null;
        skippedRows = skippedDuringSweep;
        nextSweepAt = DateTimeOffset.UtcNow + options.RelayPollInterval;
        List<string>? idle = null;
        foreach (var partition in partitions.Values)
        {
            if (partition.Overflowed && !partition.OverflowedDuringSweep)
            {
                partition.Overflowed = false;
            }
            if (IsIdle(partition))
            {
                (idle ??= []).Add(partition.Name);
            }
        }
        foreach (var name in idle ?? [])
        {
            partitions.Remove(name);
        }
    }

    private static bool IsIdle(PartitionState partition) =>
        partition.Waiting.Count == 0 && !partition.InFlight && partition.Failures == 0 && !partition.Overflowed;

    private async Task PublishPartitionAsync(PartitionState partition, List<OutboxRecord> rows, int publishTerm, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var events = new List<OutgoingEvent>(rows.Count);
        foreach (var row in rows)
        {
            events.Add(OutgoingEvent.Create(row.Topic, ToCloudEvent(row)));
        }

        PublishResult result;
        var cancelled = false;
        try
        {
            result = await transport.PublishAsync(events, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            result = new PublishResult(0, null);
            cancelled = true;
        }
        catch (Exception e)
        {
            result = new PublishResult(0, e);
        }

        var accepted = Math.Clamp(result.Accepted, 0, rows.Count);
        var failed = accepted < rows.Count && !cancelled;
        var failures = 0;
        var until = default(DateTimeOffset);
        lock (gate)
        {
            for (var i = 0; i < accepted; i++)
            {
                pendingMarks.Add(rows[i].Id);
            }
            if (publishTerm == term)
            {
                rowsInFlight -= rows.Count;
                partition.InFlight = false;
                if (accepted < rows.Count)
                {
                    // Back at the head of the partition: later rows of this courtyard wait behind them.
                    var back = rows.GetRange(accepted, rows.Count - accepted);
                    back.AddRange(partition.Waiting);
                    back.Sort((a, b) => a.Id.CompareTo(b.Id));
                    partition.Waiting.Clear();
                    partition.Waiting.AddRange(back);
                    waitingRows += rows.Count - accepted;
                }
                var now = DateTimeOffset.UtcNow;
                if (failed)
                {
                    failures = ++partition.Failures;
                    until = partition.BackoffUntil = now + options.PublishBackoff.Delay(failures);
                    backingOff.Enqueue(partition, until);
                }
                else
                {
                    if (accepted > 0)
                    {
                        partition.Failures = 0;
                    }
                    MakeReady(partition, now);
                }
                if (partition.Overflowed && partition.Waiting.Count < partitionLimit / 2)
                {
                    sweepWanted = true;   // room again: bring in the rows it left in the database
                }
                if (IsIdle(partition))
                {
                    partitions.Remove(partition.Name);
                }
            }
        }

        if (accepted > 0)
        {
            EventMetrics.Published.Add(accepted, new KeyValuePair<string, object?>("source", Source),
                new KeyValuePair<string, object?>("transport", transport.Name));
        }
        if (failed)
        {
            EventMetrics.PublishFailures.Add(rows.Count - accepted, new KeyValuePair<string, object?>("source", Source));
            var blocked = rows[accepted];
            logger.Log(failures <= 3 ? LogLevel.Warning : LogLevel.Debug, result.Error,
                "Outbox relay of {Source}: publishing row {Id} ({Type}) of partition {Partition} failed (attempt {Failures}); its partition waits until {Until:O}.",
                Source, blocked.Id, blocked.EventType, partition.Name, failures, until);
            try
            {
                await outbox.RecordFailedAttemptAsync(blocked.Id, CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogDebug(e, "Could not record the failed attempt of outbox row {Id}.", blocked.Id);
            }
        }
        Wake();
    }

    private async Task FlushMarksAsync(CancellationToken cancellationToken)
    {
        long[] ids;
        lock (gate)
        {
            if (pendingMarks.Count == 0)
            {
                return;
            }
            ids = [.. pendingMarks];
            pendingMarks.Clear();
        }
        try
        {
            await outbox.MarkSentAsync(ids, cancellationToken);
        }
        catch
        {
            lock (gate)
            {
                pendingMarks.AddRange(ids);
            }
            throw;
        }
        lock (gate)
        {
            foreach (var id in ids)
            {
                known.Remove(id);
                markedDuringSweepRead?.Add(id);
            }
        }
    }

    /// <summary>The envelope of an outbox row: its id is stable across re-publishes, so consumers recognise repeats.</summary>
    public CloudEvent ToCloudEvent(OutboxRecord row) => new()
    {
        Id = EventIds.Format(Source, row.Id),
        Source = Source,
        Type = row.EventType,
        Subject = row.Partition,
        Time = row.CreatedAt,
        Data = row.Payload,
        TraceParent = row.TraceParent,
    };

    private static TimeSpan Remaining(long timestamp)
    {
        var now = Stopwatch.GetTimestamp();
        return timestamp <= now ? TimeSpan.Zero : Stopwatch.GetElapsedTime(now, timestamp);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

/// <summary>Event ids: "&lt;source&gt;-&lt;outbox row id&gt;", unique on their own and stable across re-publishes.</summary>
public static class EventIds
{
    public static string Format(string source, long outboxId) => string.Concat(source, "-", outboxId.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
