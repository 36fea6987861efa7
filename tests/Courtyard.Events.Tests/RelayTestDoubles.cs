using System.Collections.Concurrent;
using Courtyard.Events.Transports;
using Courtyard.Storage;

namespace Courtyard.Events.Tests;

/// <summary>
/// A transport in front of another that counts what the inner one accepted (per event id, and in order per courtyard),
/// and refuses events of the courtyards listed in <see cref="Broken"/> (and everything after them in the batch).
/// </summary>
internal sealed class RecordingTransport(IEventTransport inner, bool ownsInner = false) : IEventTransport
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, List<string>> acceptedBySubject = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, int> AcceptedById { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, byte> Broken { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, int> RefusedAttempts { get; } = new(StringComparer.Ordinal);
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
        return new PublishResult(result.Accepted, result.Error ?? new IOException("broker refused the message"));
    }

    public Task<IAsyncDisposable> SubscribeAsync(Subscription subscription, CancellationToken cancellationToken) => inner.SubscribeAsync(subscription, cancellationToken);

    public ValueTask DisposeAsync() => ownsInner ? inner.DisposeAsync() : ValueTask.CompletedTask;
}

/// <summary>
/// A storage provider in front of a real one whose outbox counts the rows its reads return and can hide rows from reads,
/// as if their transaction had not committed yet (a late commit: a lower id becoming visible after higher ones).
/// </summary>
internal sealed class ObservedStorage(IStorageProvider inner) : IStorageProvider
{
    private readonly ObservedOutbox outbox = new(inner.Outbox);

    public IStateStore State => inner.State;
    public IOutboxStore Outbox => outbox;
    public IInboxStore Inbox => inner.Inbox;
    public IDeadLetterStore DeadLetters => inner.DeadLetters;
    public IReminderStore Reminders => inner.Reminders;

    public long RowsRead => Interlocked.Read(ref outbox.RowsRead);
    public ConcurrentDictionary<long, byte> Hidden => outbox.Hidden;

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private sealed class ObservedOutbox(IOutboxStore inner) : IOutboxStore
    {
        public long RowsRead;
        public ConcurrentDictionary<long, byte> Hidden { get; } = new();

        public async Task<IReadOnlyList<OutboxRecord>> ReadUnsentAsync(int max, long afterId, CancellationToken cancellationToken = default)
        {
            var rows = (await inner.ReadUnsentAsync(max, afterId, cancellationToken)).Where(r => !Hidden.ContainsKey(r.Id)).ToList();
            Interlocked.Add(ref RowsRead, rows.Count);
            return rows;
        }

        public Task MarkSentAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default) => inner.MarkSentAsync(ids, cancellationToken);
        public Task RecordFailedAttemptAsync(long id, CancellationToken cancellationToken = default) => inner.RecordFailedAttemptAsync(id, cancellationToken);
        public Task<IReadOnlyList<long>> AppendAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default) => inner.AppendAsync(messages, cancellationToken);
        public Task<OutboxStats> GetStatsAsync(CancellationToken cancellationToken = default) => inner.GetStatsAsync(cancellationToken);
        public Task<long> PurgeAsync(DateTimeOffset sentBefore, CancellationToken cancellationToken = default) => inner.PurgeAsync(sentBefore, cancellationToken);
        public Task<bool> TryAcquireRelayLeaseAsync(string name, string holder, TimeSpan duration, CancellationToken cancellationToken = default) =>
            inner.TryAcquireRelayLeaseAsync(name, holder, duration, cancellationToken);
        public Task ReleaseRelayLeaseAsync(string name, string holder, CancellationToken cancellationToken = default) => inner.ReleaseRelayLeaseAsync(name, holder, cancellationToken);
        public Task<RelayLease?> ReadRelayLeaseAsync(string name, CancellationToken cancellationToken = default) => inner.ReadRelayLeaseAsync(name, cancellationToken);
    }
}
