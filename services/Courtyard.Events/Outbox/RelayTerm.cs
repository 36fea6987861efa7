using Courtyard.Events.Transports;
using Courtyard.Storage;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Outbox;

/// <summary>
/// One uninterrupted holding of the relay lease: everything the relay knows lives here and is dropped with it, so a
/// new term (this process later, or another replica) starts from the database alone. A pass:
/// <list type="number">
/// <item>reads the rows after the <see cref="OutboxFrontier"/> and hands each to its courtyard (or leaves it in the
/// database for a courtyard that reads on its own);</item>
/// <item>reads the rows of courtyards that read on their own and are ready, in one round trip;</item>
/// <item>starts a publish for every courtyard that may go, one publish in flight per courtyard.</item>
/// </list>
/// A publish the transport refuses goes back to the head of its courtyard, which waits (backoff); after
/// <see cref="EventBusOptions.MaxPublishAttempts"/> refusals of one row, the row is parked and its courtyard's later rows
/// wait behind it until an operator releases or discards it. Accepted rows are marked sent in the background.
/// </summary>
internal sealed class RelayTerm(EventBusOptions options, IOutboxStore outbox, IEventTransport transport, ILogger logger,
    Action wake, CancellationToken cancellationToken)
{
    private static readonly TimeSpan GapRecheckInterval = TimeSpan.FromMilliseconds(10);

    private readonly Lock gate = new();
    private readonly OutboxFrontier frontier = new(options.RelayGapWaitLimit);
    private readonly Dictionary<string, CourtyardQueue> courtyards = new(StringComparer.Ordinal);
    private readonly List<long> acceptedNotMarked = [];
    private readonly HashSet<Task> publishes = [];
    private int rowsInMemory;
    private int rowsInFlight;
    private Task marking = Task.CompletedTask;
    private DateTimeOffset nextMarkAt;

    private string Source => options.Source;

    public CancellationToken CancellationToken => cancellationToken;

    /// <summary>One pass; returns how long the relay may sleep before the next (a wake-up ends the sleep early).</summary>
    public async Task<TimeSpan> PassAsync(Func<DateTimeOffset, bool> mayPublish)
    {
        var wait = options.RelayPollInterval;
        wait = Min(wait, MarkAcceptedInBackground());

        if (RoomInMemory() > 0)
        {
            var read = await outbox.ReadUnsentAsync(options.RelayReadBatch, frontier.Position, cancellationToken);
            var now = DateTimeOffset.UtcNow;
            var settled = frontier.Advance(read, now, out var gapOpen);
            lock (gate)
            {
                foreach (var row in settled)
                {
                    TakeFromFrontier(row, now);
                }
            }
            if (gapOpen)
            {
                wait = Min(wait, GapRecheckInterval);
            }
            else if (read.Count == options.RelayReadBatch)
            {
                wait = TimeSpan.Zero;   // more rows are there
            }
        }

        foreach (var watch in frontier.LateWatches.ToArray())
        {
            var read = await outbox.ReadUnsentAsync(options.RelayReadBatch, watch.From - 1, cancellationToken);
            var late = frontier.CheckLate(watch, read);
            lock (gate)
            {
                foreach (var row in late)
                {
                    TakeLate(row);
                }
            }
            wait = Min(wait, options.RelayPollInterval);
        }

        await ReadCourtyardsOnTheirOwnAsync();

        lock (gate)
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var courtyard in courtyards.Values)
            {
                if (courtyard.RetryAt > now)
                {
                    wait = Min(wait, courtyard.RetryAt - now);
                }
                if (courtyard.ParkedRecheckAt is { } recheck && courtyard.Waiting.Count == 0)
                {
                    wait = Min(wait, recheck - now);
                }
            }
            if (!mayPublish(now))
            {
                return wait;   // the lease may be gone: never start a publish on it
            }
            foreach (var courtyard in courtyards.Values)
            {
                if (rowsInFlight >= options.RelayMaxInFlightRows)
                {
                    break;
                }
                if (courtyard.CanPublish(now))
                {
                    StartPublish(courtyard);
                }
            }
        }
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }

    private int RoomInMemory()
    {
        lock (gate)
        {
            return options.RelayMaxRowsInMemory - rowsInMemory;
        }
    }

    private CourtyardQueue Courtyard(string courtyardId)
    {
        if (!courtyards.TryGetValue(courtyardId, out var courtyard))
        {
            courtyards[courtyardId] = courtyard = new CourtyardQueue(courtyardId);
        }
        return courtyard;
    }

    /// <summary>A row the frontier settled: its courtyard takes it, unless the courtyard reads on its own or has no room.</summary>
    private void TakeFromFrontier(OutboxRecord row, DateTimeOffset now)
    {
        var courtyard = Courtyard(row.CourtyardId);
        if (courtyard.ReadAfter is not null)
        {
            return;   // it reads this row itself, after the ones before it
        }
        if (row.ParkedAt is not null)
        {
            courtyard.ReadOnItsOwnAfter(row.Id - 1);
            courtyard.ParkedRecheckAt = now + options.RelayPollInterval;
            return;
        }
        if (courtyard.Waiting.Count >= options.RelayMaxRowsPerCourtyard || rowsInMemory >= options.RelayMaxRowsInMemory)
        {
            courtyard.ReadOnItsOwnAfter(row.Id - 1);
            return;
        }
        courtyard.Waiting.Add(row);
        rowsInMemory++;
    }

    /// <summary>A row committed into a gap the frontier passed after the safety cap: published now, out of order.</summary>
    private void TakeLate(OutboxRecord row)
    {
        var courtyard = Courtyard(row.CourtyardId);
        if (courtyard.ReadAfter is { } after && row.Id > after)
        {
            return;   // its own read finds it, in order
        }
        logger.LogWarning("Outbox relay of {Source}: row {Id} of courtyard {Courtyard} committed more than {Limit} after later rows and is published after them.",
            Source, row.Id, row.CourtyardId, options.RelayGapWaitLimit);
        var index = courtyard.Waiting.FindIndex(r => r.Id > row.Id);
        courtyard.Waiting.Insert(index < 0 ? courtyard.Waiting.Count : index, row);
        rowsInMemory++;
    }

    /// <summary>Courtyards that read on their own and are ready read their next rows, all in one query.</summary>
    private async Task ReadCourtyardsOnTheirOwnAsync()
    {
        List<CourtyardCursor> cursors = [];
        lock (gate)
        {
            var now = DateTimeOffset.UtcNow;
            var room = options.RelayMaxRowsInMemory - rowsInMemory;
            foreach (var courtyard in courtyards.Values)
            {
                if (room < options.RelayMaxRowsPerCourtyard)
                {
                    break;
                }
                if (courtyard.NeedsRead(now))
                {
                    cursors.Add(new CourtyardCursor(courtyard.CourtyardId, courtyard.ReadAfter!.Value));
                    room -= options.RelayMaxRowsPerCourtyard;
                }
            }
        }
        if (cursors.Count == 0)
        {
            return;
        }
        var upTo = frontier.Position;
        var rows = await outbox.ReadUnsentOfCourtyardsAsync(cursors, upTo, options.RelayMaxRowsPerCourtyard, cancellationToken);
        lock (gate)
        {
            var now = DateTimeOffset.UtcNow;
            var byCourtyard = rows.ToLookup(r => r.CourtyardId, StringComparer.Ordinal);
            foreach (var cursor in cursors)
            {
                var courtyard = courtyards[cursor.CourtyardId];
                var own = byCourtyard[cursor.CourtyardId].ToList();
                courtyard.ParkedRecheckAt = null;
                foreach (var row in own)
                {
                    if (row.ParkedAt is not null)
                    {
                        courtyard.ParkedRecheckAt = now + options.RelayPollInterval;
                        break;
                    }
                    courtyard.Waiting.Add(row);
                    courtyard.ReadAfter = row.Id;
                    rowsInMemory++;
                }
                if (courtyard.ParkedRecheckAt is null && own.Count < options.RelayMaxRowsPerCourtyard)
                {
                    courtyard.ReadAfter = null;   // caught up with the frontier: it hands over the rest
                }
                if (courtyard.IsIdle)
                {
                    courtyards.Remove(courtyard.CourtyardId);   // say, its parked row was discarded and nothing followed it
                }
            }
        }
    }

    private void StartPublish(CourtyardQueue courtyard)
    {
        var count = Math.Min(courtyard.Waiting.Count, options.RelayMaxRowsPerPublish);
        var rows = courtyard.Waiting.GetRange(0, count);
        courtyard.Waiting.RemoveRange(0, count);
        courtyard.InFlight = true;
        rowsInFlight += count;
        var publish = PublishAsync(courtyard, rows);
        publishes.Add(publish);
        _ = publish.ContinueWith(t => { lock (gate) { publishes.Remove(t); } }, TaskScheduler.Default);
    }

    private async Task PublishAsync(CourtyardQueue courtyard, List<OutboxRecord> rows)
    {
        await Task.Yield();
        PublishResult result;
        try
        {
            result = await transport.PublishAsync([.. rows.Select(row => OutgoingEvent.Create(row.Topic, ToCloudEvent(row)))], cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            result = new PublishResult(0, null);
        }
        catch (Exception e)
        {
            result = new PublishResult(0, e);
        }
        var accepted = Math.Clamp(result.Accepted, 0, rows.Count);
        var failed = accepted < rows.Count && !cancellationToken.IsCancellationRequested;
        OutboxRecord? refused = null;
        var park = false;
        lock (gate)
        {
            acceptedNotMarked.AddRange(rows.Take(accepted).Select(r => r.Id));
            rowsInMemory -= accepted;
            rowsInFlight -= rows.Count;
            courtyard.Waiting.InsertRange(0, rows.Skip(accepted));
            if (failed)
            {
                courtyard.ConsecutiveFailures++;
                courtyard.RetryAt = DateTimeOffset.UtcNow + options.PublishBackoff.Delay(courtyard.ConsecutiveFailures);
                if (result.Refused)
                {
                    // The transport reached its broker, which refused this event: count it against the row.
                    refused = courtyard.Waiting[0] with { Attempts = courtyard.Waiting[0].Attempts + 1, LastError = Describe(result.Error) };
                    courtyard.Waiting[0] = refused;
                    park = refused.Attempts >= options.MaxPublishAttempts;
                }
            }
            else if (accepted > 0)
            {
                courtyard.ConsecutiveFailures = 0;
            }
        }

        if (accepted > 0)
        {
            EventMetrics.Published.Add(accepted, new("source", Source), new("transport", transport.Name));
        }
        if (failed)
        {
            await RecordFailureAsync(courtyard, rows[accepted], refused, park, result.Error);
        }
        lock (gate)
        {
            courtyard.InFlight = false;
            if (courtyard.IsIdle)
            {
                courtyards.Remove(courtyard.CourtyardId);
            }
        }
        wake();
    }

    private async Task RecordFailureAsync(CourtyardQueue courtyard, OutboxRecord blocked, OutboxRecord? refused, bool park, Exception? error)
    {
        EventMetrics.PublishFailures.Add(1, new("source", Source), new("refused", refused is not null));
        logger.Log(courtyard.ConsecutiveFailures <= 3 ? LogLevel.Warning : LogLevel.Debug, error,
            "Outbox relay of {Source}: publishing row {Id} ({Type}) of courtyard {Courtyard} failed ({Kind}, failure {Failures}); the courtyard waits until {Until:O}.",
            Source, blocked.Id, blocked.EventType, courtyard.CourtyardId, refused is null ? "transport unavailable" : $"refused {refused.Attempts} time(s)",
            courtyard.ConsecutiveFailures, courtyard.RetryAt);
        if (refused is null)
        {
            return;
        }
        try
        {
            if (!park)
            {
                await outbox.RecordFailedAttemptAsync(refused.Id, refused.LastError, CancellationToken.None);
                return;
            }
            await outbox.ParkAsync(refused.Id, refused.LastError!, CancellationToken.None);
            EventMetrics.Parked.Add(1, new KeyValuePair<string, object?>("source", Source));
            logger.LogError(error,
                "Outbox relay of {Source}: parked row {Id} ({Type}) of courtyard {Courtyard} after {Attempts} refused publishes; the courtyard's later events wait until it is released or discarded (EventAdmin).",
                Source, refused.Id, refused.EventType, courtyard.CourtyardId, refused.Attempts);
            lock (gate)
            {
                // Its rows stay in the database behind the parked one; the courtyard looks at it again from time to time.
                rowsInMemory -= courtyard.Waiting.Count;
                courtyard.Waiting.Clear();
                courtyard.ReadAfter = refused.Id - 1;
                courtyard.ParkedRecheckAt = DateTimeOffset.UtcNow + options.RelayPollInterval;
                courtyard.ConsecutiveFailures = 0;
                courtyard.RetryAt = default;
            }
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Outbox relay of {Source}: could not record the refused publish of row {Id}; counting goes on.", Source, refused.Id);
        }
    }

    /// <summary>Marks accepted rows sent, one batch at a time in the background; returns when the next batch is due.</summary>
    private TimeSpan MarkAcceptedInBackground()
    {
        var now = DateTimeOffset.UtcNow;
        if (!marking.IsCompleted)
        {
            return options.RelayPollInterval;   // the running batch wakes the relay when done
        }
        if (marking.IsFaulted)
        {
            logger.LogWarning(marking.Exception!.GetBaseException(), "Outbox relay of {Source}: could not mark published rows sent; retrying.", Source);
            marking = Task.CompletedTask;
            nextMarkAt = now + TimeSpan.FromMilliseconds(200);   // do not spin on a failing database
        }
        lock (gate)
        {
            if (acceptedNotMarked.Count == 0)
            {
                return options.RelayPollInterval;
            }
        }
        if (now < nextMarkAt)
        {
            return nextMarkAt - now;
        }
        // Whatever is accepted during one batch's commit goes into the next: batches grow with the load.
        marking = MarkAcceptedAsync(cancellationToken);
        _ = marking.ContinueWith(_ => wake(), TaskScheduler.Default);
        return options.RelayPollInterval;
    }

    private async Task MarkAcceptedAsync(CancellationToken token)
    {
        long[] ids;
        lock (gate)
        {
            ids = [.. acceptedNotMarked];
            acceptedNotMarked.Clear();
        }
        if (ids.Length == 0)
        {
            return;
        }
        try
        {
            await outbox.MarkSentAsync(ids, token);
        }
        catch
        {
            lock (gate)
            {
                acceptedNotMarked.AddRange(ids);
            }
            throw;
        }
    }

    /// <summary>The end of the term: publishes in flight are cancelled (by the caller's token) and awaited, what the transport accepted is marked sent.</summary>
    public async Task EndAsync()
    {
        Task[] running;
        lock (gate)
        {
            running = [.. publishes];
        }
        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
        await marking.ContinueWith(_ => { }, TaskScheduler.Default);
        // What the transport confirmed must not be published again by the next holder.
        try
        {
            await MarkAcceptedAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Outbox relay of {Source}: could not mark the last published rows sent; they will be published again.", Source);
        }
    }

    /// <summary>The envelope of an outbox row: its id is stable across re-publishes, so consumers recognise repeats.</summary>
    public CloudEvent ToCloudEvent(OutboxRecord row) => new()
    {
        Id = EventIds.Format(Source, row.Id),
        Source = Source,
        Type = row.EventType,
        Subject = row.CourtyardId,
        Time = row.CreatedAt,
        Data = row.Payload,
        TraceParent = row.TraceParent,
    };

    private static string Describe(Exception? error)
    {
        var text = error is null ? "refused" : $"{error.GetType().Name}: {error.Message}";
        return text.Length > 2000 ? text[..2000] : text;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

/// <summary>Event ids: "&lt;source&gt;-&lt;outbox row id&gt;", unique on their own and stable across re-publishes.</summary>
public static class EventIds
{
    public static string Format(string source, long outboxId) => string.Concat(source, "-", outboxId.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
