using Courtyard.Storage;

namespace Courtyard.Grains.Tests.Support;

/// <summary>A test double of the storage contract: versioned state rows, outbox rows and inbox marks in one "transaction", reminders with CAS.</summary>
public sealed class InMemoryStorage : IStateStore, IReminderStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<(string, string), StoredState> rows = [];
    private readonly List<OutboxRecord> outbox = [];
    private readonly HashSet<InboxMark> inbox = [];
    private readonly Dictionary<(string, string, string), ReminderRecord> reminders = [];
    private long nextOutboxId;

    /// <summary>When set, reads throw it (to test load failures).</summary>
    public Exception? FailReads { get; set; }

    /// <summary>Simulated write latency.</summary>
    public TimeSpan WriteDelay { get; set; }

    public int ReminderClaims;

    public IReadOnlyList<OutboxRecord> Outbox { get { lock (gate) return outbox.ToList(); } }

    public async Task<StoredState?> ReadAsync(string stateType, string key, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        if (FailReads is { } failure) throw failure;
        lock (gate) return rows.GetValueOrDefault((stateType, key));
    }

    public async Task<WriteResult> WriteAsync(StateWrite write, CancellationToken cancellationToken = default)
    {
        if (WriteDelay > TimeSpan.Zero) await Task.Delay(WriteDelay, cancellationToken);
        else await Task.Yield();
        lock (gate)
        {
            var stored = rows.GetValueOrDefault((write.StateType, write.Key));
            if (write.Consumes is { } mark && inbox.Contains(mark)) return new WriteResult(WriteOutcome.AlreadyConsumed, stored?.Version ?? 0, []);
            if ((stored?.Version ?? 0) != write.ExpectedVersion)
                throw new InconsistentStateException(write.StateType, write.Key, write.ExpectedVersion, stored?.Version);
            var version = write.ExpectedVersion + 1;
            if (write.Data is null) rows.Remove((write.StateType, write.Key));
            else rows[(write.StateType, write.Key)] = new StoredState(write.StateType, write.Key, write.Data, version);
            var ids = new List<long>();
            foreach (var m in write.Outbox)
            {
                var id = ++nextOutboxId;
                outbox.Add(new OutboxRecord(id, m.Partition, m.Topic, m.EventType, m.Payload, m.TraceParent, DateTimeOffset.UtcNow, 0));
                ids.Add(id);
            }
            if (write.Consumes is { } consumed) inbox.Add(consumed);
            return new WriteResult(WriteOutcome.Committed, version, ids);
        }
    }

    /// <summary>Writes a row behind the grain's back (another process or replica).</summary>
    public void Overwrite(string stateType, string key, byte[] data)
    {
        lock (gate)
        {
            var version = rows.GetValueOrDefault((stateType, key))?.Version ?? 0;
            rows[(stateType, key)] = new StoredState(stateType, key, data, version + 1);
        }
    }

    public StoredState? Get(string stateType, string key) { lock (gate) return rows.GetValueOrDefault((stateType, key)); }

    public Task UpsertAsync(ReminderRecord reminder, CancellationToken cancellationToken = default)
    {
        lock (gate) reminders[(reminder.GrainType, reminder.Key, reminder.Name)] = reminder;
        return Task.CompletedTask;
    }

    public Task<bool> RemoveAsync(string grainType, string key, string name, CancellationToken cancellationToken = default)
    {
        lock (gate) return Task.FromResult(reminders.Remove((grainType, key, name)));
    }

    public Task<IReadOnlyList<ReminderRecord>> ListAsync(string grainType, string key, CancellationToken cancellationToken = default)
    {
        lock (gate)
            return Task.FromResult<IReadOnlyList<ReminderRecord>>(reminders.Values.Where(r => r.GrainType == grainType && r.Key == key).ToList());
    }

    public Task<IReadOnlyList<ReminderRecord>> ReadDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
    {
        lock (gate)
            return Task.FromResult<IReadOnlyList<ReminderRecord>>(reminders.Values.Where(r => r.DueAt <= now).OrderBy(r => r.DueAt).Take(max).ToList());
    }

    public Task<bool> TryRescheduleAsync(ReminderRecord reminder, DateTimeOffset newDueAt, CancellationToken cancellationToken = default)
    {
        lock (gate)
        {
            var id = (reminder.GrainType, reminder.Key, reminder.Name);
            if (!reminders.TryGetValue(id, out var current) || current.DueAt != reminder.DueAt) return Task.FromResult(false);
            reminders[id] = current with { DueAt = newDueAt };
            Interlocked.Increment(ref ReminderClaims);
            return Task.FromResult(true);
        }
    }
}
