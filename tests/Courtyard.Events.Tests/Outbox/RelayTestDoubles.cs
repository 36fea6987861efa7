using System.Collections.Concurrent;
using Courtyard.Events.Transports;
using Courtyard.Storage;

namespace Courtyard.Events.Tests;

/// <summary>
/// A transport in front of another that counts what the inner one accepted (per event id, and in order per courtyard),
/// and fails events of the courtyards listed in <see cref="Broken"/> (and everything after them in the batch): as a
/// refusal by the broker when <see cref="Refuse"/> is set, otherwise as a broker that cannot be reached.
/// </summary>
internal sealed class RecordingTransport(IEventTransport inner, bool ownsInner = false) : IEventTransport
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, List<string>> acceptedBySubject = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, int> AcceptedById { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, byte> Broken { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, int> RefusedAttempts { get; } = new(StringComparer.Ordinal);
    public bool Refuse { get; set; }
    public string Name => "recording";

    public int AcceptedCount => AcceptedById.Values.Sum();

    /// <summary>Ids the inner transport accepted for <paramref name="subject"/>, in the order it accepted them.</summary>
    public IReadOnlyList<string> AcceptedFor(string subject)
    {
        lock (gate)
        {
            return acceptedBySubject.TryGetValue(subject, out var ids) ? ids.ToArray() : [];
        }
    }

    public async Task<PublishResult> PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
    {
        var firstBroken = events.ToList().FindIndex(e => Broken.ContainsKey(e.Event.Subject));
        var passed = firstBroken < 0 ? events : events.Take(firstBroken).ToList();
        var result = passed.Count == 0 ? new PublishResult(0, null) : await inner.PublishAsync(passed, cancellationToken);
        lock (gate)
        {
            foreach (var accepted in passed.Take(result.Accepted))
            {
                AcceptedById.AddOrUpdate(accepted.Event.Id, 1, (_, n) => n + 1);
                var subject = accepted.Event.Subject;
                if (!acceptedBySubject.TryGetValue(subject, out var ids))
                {
                    acceptedBySubject[subject] = ids = [];
                }
                ids.Add(accepted.Event.Id);
            }
        }
        if (firstBroken < 0)
        {
            return result;
        }
        RefusedAttempts.AddOrUpdate(events[firstBroken].Event.Subject, 1, (_, n) => n + 1);
        return new PublishResult(result.Accepted, result.Error ?? new IOException(Refuse ? "broker refused the message" : "broker unreachable"),
            Refused: result.Error is null && Refuse);
    }

    public Task<IAsyncDisposable> SubscribeAsync(Subscription subscription, CancellationToken cancellationToken) => inner.SubscribeAsync(subscription, cancellationToken);

    public ValueTask DisposeAsync() => ownsInner ? inner.DisposeAsync() : ValueTask.CompletedTask;
}

/// <summary>
/// A storage provider in front of a real one whose outbox counts the rows its reads return and can hide rows from reads,
/// as if their transaction had not committed yet: a lower id visible after higher ones. Its reads report a visibility
/// like PostgreSQL's: a hidden row's "transaction" started before the read that first missed it and is still running, so
/// a gap below it does not settle until it is shown (or <see cref="RollBack"/>ed).
/// </summary>
internal sealed class ObservedStorage(IStorageProvider inner) : IStorageProvider
{
    private readonly ObservedOutbox outbox = new(inner.Outbox);

    public IStateStore State => inner.State;
    public IOutboxStore Outbox => outbox;
    public IInboxStore Inbox => inner.Inbox;
    public IDeadLetterStore DeadLetters => inner.DeadLetters;
    public IJournalStore Journal => inner.Journal;
    public Orleans.IReminderTable Reminders => inner.Reminders;

    public long RowsRead => Interlocked.Read(ref outbox.RowsRead);

    /// <summary>Rows reads do not return, as if still being committed.</summary>
    public void Hide(long id) => outbox.Hide(id);

    /// <summary>The hidden rows' transactions commit: reads return them.</summary>
    public void ShowAll() => outbox.ShowAll();

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private sealed class ObservedOutbox(IOutboxStore inner) : IOutboxStore
    {
        private readonly Lock gate = new();
        private readonly Dictionary<long, ulong> hidden = [];   // id -> its transaction
        private ulong nextTransaction = 1;
        public long RowsRead;

        public void Hide(long id)
        {
            lock (gate)
            {
                hidden[id] = nextTransaction++;
            }
        }

        public void ShowAll()
        {
            lock (gate)
            {
                hidden.Clear();
                nextTransaction++;
            }
        }

        public async Task<UnsentRows> ReadUnsentAsync(int max, long afterId = 0, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadUnsentAsync(max + 64, afterId, cancellationToken);
            lock (gate)
            {
                var rows = read.Where(r => !hidden.ContainsKey(r.Id)).Take(max).ToList();
                Interlocked.Add(ref RowsRead, rows.Count);
                var visibility = new OutboxVisibility(hidden.Count > 0 ? hidden.Values.Min() : nextTransaction, nextTransaction + 1);
                nextTransaction++;
                return new UnsentRows(rows, visibility);
            }
        }

        public async Task<IReadOnlyList<OutboxRecord>> ReadUnsentOfCourtyardsAsync(IReadOnlyCollection<CourtyardCursor> cursors, long upToId,
            int maxPerCourtyard, CancellationToken cancellationToken = default)
        {
            var rows = await inner.ReadUnsentOfCourtyardsAsync(cursors, upToId, maxPerCourtyard, cancellationToken);
            Interlocked.Add(ref RowsRead, rows.Count);
            return rows;
        }

        public Task MarkSentAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default) => inner.MarkSentAsync(ids, cancellationToken);
        public Task NextCommit() => inner.NextCommit();
        public Task RecordFailedAttemptAsync(long id, string? error = null, CancellationToken cancellationToken = default) => inner.RecordFailedAttemptAsync(id, error, cancellationToken);
        public Task ParkAsync(long id, string error, CancellationToken cancellationToken = default) => inner.ParkAsync(id, error, cancellationToken);
        public Task<IReadOnlyList<OutboxRecord>> ListParkedAsync(int max, CancellationToken cancellationToken = default) => inner.ListParkedAsync(max, cancellationToken);
        public Task<bool> ReleaseParkedAsync(long id, CancellationToken cancellationToken = default) => inner.ReleaseParkedAsync(id, cancellationToken);
        public Task<bool> DiscardParkedAsync(long id, CancellationToken cancellationToken = default) => inner.DiscardParkedAsync(id, cancellationToken);
        public Task<IReadOnlyList<long>> AppendAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default) => inner.AppendAsync(messages, cancellationToken);
        public Task<OutboxStats> GetStatsAsync(CancellationToken cancellationToken = default) => inner.GetStatsAsync(cancellationToken);
        public Task<long> PurgeAsync(DateTimeOffset sentBefore, CancellationToken cancellationToken = default) => inner.PurgeAsync(sentBefore, cancellationToken);
        public Task<bool> TryAcquireRelayLeaseAsync(string name, string holder, TimeSpan duration, CancellationToken cancellationToken = default) =>
            inner.TryAcquireRelayLeaseAsync(name, holder, duration, cancellationToken);
        public Task ReleaseRelayLeaseAsync(string name, string holder, CancellationToken cancellationToken = default) => inner.ReleaseRelayLeaseAsync(name, holder, cancellationToken);
        public Task<RelayLease?> ReadRelayLeaseAsync(string name, CancellationToken cancellationToken = default) => inner.ReadRelayLeaseAsync(name, cancellationToken);
    }
}
