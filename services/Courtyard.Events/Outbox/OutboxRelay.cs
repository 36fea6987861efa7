using Courtyard.Events.Transports;
using Courtyard.Storage;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Outbox;

/// <summary>
/// Publishes a service's outbox rows and marks them sent. Per partition (courtyard) rows go out in id order and one
/// publish at a time: when a partition's publish fails, its later rows wait (exponential backoff, capped, jittered)
/// while other partitions keep flowing. Woken by <see cref="Wake"/> after a commit, and polls for rows a crashed
/// process left behind. Run one relay per database: two relays on one outbox publish rows twice (consumers
/// de-duplicate, but the per-partition order is then no longer guaranteed).
/// </summary>
public sealed class OutboxRelay
{
    private readonly EventBusOptions options;
    private readonly IOutboxStore outbox;
    private readonly IEventTransport transport;
    private readonly ILogger logger;
    private readonly SemaphoreSlim signal = new(0, 1);

    private readonly Lock gate = new();
    private readonly HashSet<string> partitionsInFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PartitionBackoff> backoffs = new(StringComparer.Ordinal);
    // Published (confirmed) but not yet marked sent: excluded from reads until the mark is committed.
    private readonly HashSet<long> publishedUnmarked = [];
    private readonly List<long> pendingMarks = [];
    private readonly HashSet<Task> units = [];
    private int rowsInFlight;
    private DateTimeOffset lastFlushAt;
    private int readWindow;
    // The last read when it filled its window: rows beyond it were invisible anyway, so later passes reuse what is
    // left of it instead of reading the same rows again (a backlog would otherwise be re-read once per finished publish).
    private List<OutboxRecord>? backlog;
    private readonly HashSet<long> sentSinceBacklogRead = [];
    private DateTimeOffset statsDueAt;

    private sealed record PartitionBackoff(int Failures, DateTimeOffset Until);

    public OutboxRelay(EventBusOptions options, IOutboxStore outbox, IEventTransport transport, ILogger logger)
    {
        this.options = options;
        this.outbox = outbox;
        this.transport = transport;
        this.logger = logger;
        readWindow = options.RelayReadBatch;
    }

    public string Source => options.Source;

    /// <summary>Outbox lag as last read (refreshed about once a second while running).</summary>
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
        EventMetrics.Register(this);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var wait = options.RelayPollInterval;
                try
                {
                    wait = await PassAsync(cancellationToken);
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
            Task[] running;
            lock (gate)
            {
                running = [.. units];
            }
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
            // What the transport confirmed must not be published again by the next process.
            try
            {
                await FlushMarksAsync(CancellationToken.None);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Outbox relay of {Source}: could not mark the last published rows sent; they will be published again.", Source);
            }
            EventMetrics.Unregister(this);
        }
    }

    /// <summary>One pass: commit marks, read unsent rows, start a publish for every partition that may go. Returns how long to wait.</summary>
    private async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        // Marks are committed in batches: a pass waiting on the disk for every few rows would slow publishing down.
        if (pendingMarks.Count >= options.RelayReadBatch / 2 || now - lastFlushAt >= TimeSpan.FromMilliseconds(20))
        {
            lastFlushAt = now;
            await FlushMarksAsync(cancellationToken);
        }
        if (now >= statsDueAt)
        {
            LastStats = await outbox.GetStatsAsync(cancellationToken);
            statsDueAt = now.AddSeconds(1);
        }

        var window = readWindow;
        List<OutboxRecord> rows;
        lock (gate)
        {
            rows = backlog is null ? [] : backlog.FindAll(row => !sentSinceBacklogRead.Contains(row.Id));
        }
        var fromBacklog = rows.Count >= window / 4;
        if (!fromBacklog)
        {
            rows = [.. await outbox.ReadUnsentAsync(window, cancellationToken)];
            lock (gate)
            {
                backlog = rows.Count == window ? rows : null;
                sentSinceBacklogRead.Clear();
            }
        }
        var wait = options.RelayPollInterval;
        var started = 0;
        var inFlightRowsSeen = 0;
        lock (gate)
        {
            var byPartition = new Dictionary<string, List<OutboxRecord>>(StringComparer.Ordinal);
            var order = new List<string>();
            foreach (var row in rows)
            {
                if (publishedUnmarked.Contains(row.Id))
                {
                    continue;
                }
                if (!byPartition.TryGetValue(row.Partition, out var list))
                {
                    byPartition[row.Partition] = list = [];
                    order.Add(row.Partition);
                }
                list.Add(row);
            }

            foreach (var partition in order)
            {
                var list = byPartition[partition];
                if (partitionsInFlight.Contains(partition))
                {
                    inFlightRowsSeen += list.Count;
                    continue;
                }
                if (backoffs.TryGetValue(partition, out var backoff) && backoff.Until > now)
                {
                    wait = Min(wait, backoff.Until - now);
                    continue;
                }
                if (rowsInFlight >= options.RelayMaxInFlightRows)
                {
                    break;
                }
                var batch = list.Count > options.RelayMaxRowsPerPublish ? list.GetRange(0, options.RelayMaxRowsPerPublish) : list;
                partitionsInFlight.Add(partition);
                rowsInFlight += batch.Count;
                started++;
                var unit = PublishPartitionAsync(partition, batch, cancellationToken);
                units.Add(unit);
                _ = unit.ContinueWith(t => { lock (gate) { units.Remove(t); } }, TaskScheduler.Default);
            }

            // A full window in which nothing could start (blocked or busy partitions): look further next time,
            // so a partition stuck behind a failing row cannot starve the others.
            if (fromBacklog && started == 0)
            {
                backlog = null;   // nothing could start from it: read afresh (and look further) next time
            }
            readWindow = !fromBacklog && rows.Count == window && started == 0 && inFlightRowsSeen < rows.Count
                ? Math.Min(window * 2, options.RelayReadBatch * 16)
                : options.RelayReadBatch;
        }
        // Finished publishes wake the relay; otherwise the next pass is at the poll (or when a backoff ends).
        return wait;
    }

    private async Task PublishPartitionAsync(string partition, List<OutboxRecord> rows, CancellationToken cancellationToken)
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
        PartitionBackoff? backoff = null;
        lock (gate)
        {
            for (var i = 0; i < accepted; i++)
            {
                publishedUnmarked.Add(rows[i].Id);
                pendingMarks.Add(rows[i].Id);
            }
            partitionsInFlight.Remove(partition);
            rowsInFlight -= rows.Count;
            if (failed)
            {
                var failures = (backoffs.GetValueOrDefault(partition)?.Failures ?? 0) + 1;
                backoff = new PartitionBackoff(failures, DateTimeOffset.UtcNow + options.PublishBackoff.Delay(failures));
                backoffs[partition] = backoff;
            }
            else if (accepted > 0)
            {
                backoffs.Remove(partition);
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
            logger.Log(backoff!.Failures <= 3 ? LogLevel.Warning : LogLevel.Debug, result.Error,
                "Outbox relay of {Source}: publishing row {Id} ({Type}) of partition {Partition} failed (attempt {Failures}); its partition waits until {Until:O}.",
                Source, blocked.Id, blocked.EventType, partition, backoff.Failures, backoff.Until);
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
                publishedUnmarked.Remove(id);
                if (backlog is not null)
                {
                    sentSinceBacklogRead.Add(id);
                }
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

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

/// <summary>Event ids: "&lt;source&gt;-&lt;outbox row id&gt;", unique on their own and stable across re-publishes.</summary>
public static class EventIds
{
    public static string Format(string source, long outboxId) => string.Concat(source, "-", outboxId.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
