using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace Courtyard.Storage;

/// <summary>
/// The storage of one JournaledGrain's event log, for Orleans' CustomStorage log-consistency provider. The grain
/// implements <c>ICustomStorageInterface&lt;TState, TEvent&gt;</c> in two lines:
/// <code>
/// public Task&lt;KeyValuePair&lt;int, BallotBoxState&gt;&gt; ReadStateFromStorage() =&gt; journal.ReadAsync(TransitionState);
/// public Task&lt;bool&gt; ApplyUpdatesToStorage(IReadOnlyList&lt;BallotEvent&gt; updates, int expectedVersion) =&gt;
///     journal.AppendAsync(State, updates, expectedVersion);
/// </code>
/// An append commits the events, the outbox rows raised on <see cref="IHasPendingEffects.Effects"/> and the inbox
/// mark in ONE transaction; snapshots are stored every <see cref="CourtyardJournalOptions.SnapshotInterval"/> events, so
/// activation reads a snapshot plus a bounded tail, and an append costs the same however long the history is.
/// </summary>
public interface IJournal<TState, TEvent> : IHasPendingEffects where TState : class, new() where TEvent : class
{
    /// <summary>
    /// Checks the inbox, then records <paramref name="mark"/> to be committed with the next append: raise the event's
    /// effects next (a handler that decides to change nothing calls <c>Effects.Clear()</c> instead).
    /// </summary>
    /// <exception cref="InboxMarkAlreadyRecordedException">The event was handled before: raise nothing.</exception>
    Task ConsumeAsync(InboxMark mark);

    /// <summary>The state and version as stored: the latest snapshot with the later events applied by <paramref name="transition"/>.</summary>
    Task<KeyValuePair<int, TState>> ReadAsync(Action<TState, TEvent> transition);

    /// <summary>
    /// Appends <paramref name="events"/> at <paramref name="expectedVersion"/> (Orleans' <c>ApplyUpdatesToStorage</c>).
    /// False on a version conflict (Orleans re-reads and retries). A write whose outcome was unknown is retried with
    /// the same batch id until the database says whether it committed, so an event is never stored twice.
    /// </summary>
    Task<bool> AppendAsync(TState confirmed, IReadOnlyList<TEvent> events, int expectedVersion);

    /// <summary>
    /// The stored events after <paramref name="afterVersion"/> with their versions, oldest first, at most
    /// <paramref name="max"/>, read from the rows themselves (not from the state): for a grain that lists its history or
    /// verifies what is stored. Page on with the last version read.
    /// </summary>
    Task<IReadOnlyList<(long Version, TEvent Event)>> ReadEventsAsync(long afterVersion, int max);
}

/// <summary>Injects a grain's <see cref="IJournal{TState,TEvent}"/> on the named service storage: <c>[Journal("councils")] IJournal&lt;S, E&gt; journal</c>.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class JournalAttribute(string storageName) : Attribute, IFacetMetadata
{
    public string StorageName { get; } = storageName;
}

/// <inheritdoc cref="IJournal{TState,TEvent}"/>
internal sealed partial class CourtyardJournal<TState, TEvent>(
    string stream,
    IStorageProvider storage,
    Serializer serializer,
    CourtyardJournalOptions options,
    IGrainContext grainContext,
    ILogger logger) : IJournal<TState, TEvent> where TState : class, new() where TEvent : class
{
    private long snapshotVersion;

    public PendingEffects Effects { get; } = new();

    public async Task ConsumeAsync(InboxMark mark)
    {
        ArgumentNullException.ThrowIfNull(mark);
        if (await storage.Inbox.ContainsAsync(mark)) throw new InboxMarkAlreadyRecordedException(mark);
        Effects.Consume(mark);
    }

    public async Task<KeyValuePair<int, TState>> ReadAsync(Action<TState, TEvent> transition)
    {
        ArgumentNullException.ThrowIfNull(transition);
        var stored = await storage.Journal.ReadAsync(stream);
        if (stored is null)
        {
            snapshotVersion = 0;
            return new(0, new TState());
        }
        var state = stored.Snapshot is { } snapshot ? serializer.Deserialize<TState>(snapshot) ?? new TState() : new TState();
        foreach (var data in stored.Events)
            transition(state, serializer.Deserialize<TEvent>(data) ?? throw new InvalidDataException($"Journal {stream} holds a null event."));
        snapshotVersion = stored.SnapshotVersion;
        return new(checked((int)stored.Version), state);
    }

    public async Task<bool> AppendAsync(TState confirmed, IReadOnlyList<TEvent> events, int expectedVersion)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) return true;
        var carried = Effects.Take();
        var snapshotDue = expectedVersion - snapshotVersion >= options.SnapshotInterval;
        var append = new JournalAppend
        {
            Stream = stream,
            ExpectedVersion = expectedVersion,
            Events = events.Select(e => serializer.SerializeToArray(e)).ToArray(),
            Snapshot = snapshotDue ? serializer.SerializeToArray(confirmed) : null,
            Outbox = carried.Outbox,
            Consumes = carried.Consumes,
        };
        using var activity = StorageTelemetry.StartWrite(storage, "append", stream, carried.Outbox.Count);
        var inDoubt = false;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var result = await storage.Journal.AppendAsync(append);
                Effects.ClearCommitted(carried);
                if (result.Outcome == WriteOutcome.AlreadyConsumed)
                {
                    // Another delivery recorded the mark after ConsumeAsync checked it. Nothing was written, but Orleans'
                    // log adaptor cannot drop the pending events, so they are acknowledged to it and the activation,
                    // now ahead of storage, is dropped at the end of this call; the next call reloads.
                    LogAlreadyConsumed(logger, stream, carried.Consumes!.EventId);
                    grainContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationError,
                        $"Event {carried.Consumes.EventId} was already handled; the journal was not appended."));
                    return true;
                }
                if (snapshotDue) snapshotVersion = expectedVersion;
                return true;
            }
            catch (InconsistentStateException) when (inDoubt)
            {
                // An earlier attempt may have committed after all: the head then carries this batch's id.
                var head = await storage.Journal.ReadAsync(stream);
                if (head is not null && head.LastBatch == append.BatchId && head.Version == expectedVersion + events.Count)
                {
                    Effects.ClearCommitted(carried);
                    if (snapshotDue) snapshotVersion = expectedVersion;
                    return true;
                }
                return false;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
            catch (StorageOutcomeUnknownException error)
            {
                inDoubt = true;
                LogInDoubt(logger, error, stream, expectedVersion);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 50 << Math.Min(attempt, 7))));
            }
        }
    }

    public async Task<IReadOnlyList<(long Version, TEvent Event)>> ReadEventsAsync(long afterVersion, int max)
    {
        var rows = await storage.Journal.ReadEventsAsync(stream, afterVersion, max);
        return rows.Select(row => (row.Version, serializer.Deserialize<TEvent>(row.Data)
            ?? throw new InvalidDataException($"Journal {stream} holds a null event at version {row.Version}."))).ToArray();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Journal {Stream}: event {EventId} was already handled; nothing appended, the activation reloads.")]
    private static partial void LogAlreadyConsumed(ILogger logger, string stream, string eventId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Journal {Stream}: the append at version {Version} may or may not have committed; retrying it with the same batch id.")]
    private static partial void LogInDoubt(ILogger logger, Exception error, string stream, int version);
}
