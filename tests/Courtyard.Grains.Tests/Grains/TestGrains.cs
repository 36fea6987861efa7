using Courtyard.Storage;

namespace Courtyard.Grains.Tests.Grains;

public sealed class CounterState
{
    public long Count { get; set; }
    public string Note { get; set; } = "";
}

public interface ICounterGrain : IGrainWithStringKey
{
    Task<long> Increment();
    Task<long> IncrementAfter(int delayMs);
    Task<long> IncrementAndNote(string note);
    [ReadOnly] Task<long> Get();
    [ReadOnly] ValueTask<long> GetVersion();
    Task Deactivate();
}

public sealed class CounterGrain(IPersistentState<CounterState> state, Probe probe) : Grain, ICounterGrain
{
    public async Task<long> Increment()
    {
        probe.Grain.Enter();
        try
        {
            var before = state.State.Count;
            await Task.Yield();   // a lost update would show if another call ran between the read and the write
            state.State.Count = before + 1;
            await state.WriteStateAsync();
            return state.State.Count;
        }
        finally
        {
            probe.Grain.Exit();
        }
    }

    public async Task<long> IncrementAfter(int delayMs)
    {
        probe.Grain.Enter();
        try
        {
            await Task.Delay(delayMs);
            state.State.Count++;
            return state.State.Count;
        }
        finally
        {
            probe.Grain.Exit();
        }
    }

    public async Task<long> IncrementAndNote(string note)
    {
        state.State.Count++;
        state.State.Note = note;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task<long> Get() => Task.FromResult(state.State.Count);
    public ValueTask<long> GetVersion() => ValueTask.FromResult(state.Version);

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

public interface IReadWriteGrain : IGrainWithStringKey
{
    [ReadOnly] Task Read(int delayMs);
    Task Write(int delayMs);
}

public sealed class ReadWriteGrain(Probe probe) : Grain, IReadWriteGrain
{
    public async Task Read(int delayMs)
    {
        probe.Readers.Enter();
        if (probe.Writers.Current > 0) Interlocked.Increment(ref probe.ReadWriteOverlaps);
        await Task.Delay(delayMs);
        if (probe.Writers.Current > 0) Interlocked.Increment(ref probe.ReadWriteOverlaps);
        probe.Readers.Exit();
    }

    public async Task Write(int delayMs)
    {
        probe.Writers.Enter();
        if (probe.Readers.Current > 0 || probe.Writers.Current > 1) Interlocked.Increment(ref probe.ReadWriteOverlaps);
        await Task.Delay(delayMs);
        if (probe.Readers.Current > 0 || probe.Writers.Current > 1) Interlocked.Increment(ref probe.ReadWriteOverlaps);
        probe.Writers.Exit();
    }
}

public interface IOrderGrain : IGrainWithStringKey
{
    Task Append(int value);
    [ReadOnly] Task<int[]> Values();
}

public sealed class OrderGrain : Grain, IOrderGrain
{
    private readonly List<int> values = [];

    public async Task Append(int value)
    {
        values.Add(value);
        if (value % 3 == 0) await Task.Yield();
    }

    public Task<int[]> Values() => Task.FromResult(values.ToArray());
}

public interface ILifecycleGrain : IGrainWithStringKey
{
    Task<long> CountSeenOnActivate();
    Task<string> Key();
}

public sealed class LifecycleGrain([PersistentState("lifecycle")] IPersistentState<CounterState> state, Probe probe) : Grain, ILifecycleGrain
{
    private long countSeenOnActivate = -1;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (probe.FailActivation) throw new ApplicationException("activation refused by the test");
        countSeenOnActivate = state.State.Count;
        Interlocked.Increment(ref probe.Activations);
    }

    public Task<long> CountSeenOnActivate() => Task.FromResult(countSeenOnActivate);
    public Task<string> Key() => Task.FromResult(this.GetPrimaryKeyString());
}

public interface IGuidGrain : IGrainWithGuidKey
{
    Task<Guid> Key();
}

public sealed class GuidGrain : Grain, IGuidGrain
{
    public Task<Guid> Key() => Task.FromResult(GetPrimaryKey());
}

public interface IFaultGrain : IGrainWithStringKey
{
    Task ThrowAsync(string message);
    Task<int> ThrowSync(string message);
    ValueTask<int> ThrowFromValueTask(string message);
}

public sealed class FaultGrain : Grain, IFaultGrain
{
    public async Task ThrowAsync(string message)
    {
        await Task.Yield();
        throw new ArgumentException(message);
    }

    public Task<int> ThrowSync(string message) => throw new KeyNotFoundException(message);

    public async ValueTask<int> ThrowFromValueTask(string message)
    {
        await Task.Yield();
        throw new FormatException(message);
    }
}

public interface IChainGrain : IGrainWithStringKey
{
    Task CallSelf();
    Task CallThrough(string otherKey);
    Task CallBack(string originKey);
    Task Ping();
    Task<string> Block();
    [AlwaysInterleave] Task<string> Interleaved();
    Task CallSelfInterleaved();
}

public sealed class ChainGrain(Probe probe) : Grain, IChainGrain
{
    public Task CallSelf() => GrainFactory.GetGrain<IChainGrain>(GrainKey).Ping();
    public Task CallThrough(string otherKey) => GrainFactory.GetGrain<IChainGrain>(otherKey).CallBack(GrainKey);
    public Task CallBack(string originKey) => GrainFactory.GetGrain<IChainGrain>(originKey).Ping();
    public Task Ping() => Task.CompletedTask;

    public async Task<string> Block()
    {
        await probe.Gate.Task;
        return "unblocked";
    }

    public Task<string> Interleaved() => Task.FromResult("interleaved");
    public async Task CallSelfInterleaved() => await GrainFactory.GetGrain<IChainGrain>(GrainKey).Interleaved();
}

public interface IReentrantGrain : IGrainWithStringKey
{
    Task<int> Depth(int remaining);
}

[Reentrant]
public sealed class ReentrantGrain : Grain, IReentrantGrain
{
    public async Task<int> Depth(int remaining)
        => remaining == 0 ? 0 : 1 + await GrainFactory.GetGrain<IReentrantGrain>(GrainKey).Depth(remaining - 1);
}

public interface ITimerGrain : IGrainWithStringKey
{
    Task Start(int periodMs, int callbackDelayMs);
    Task<int> Busy(int delayMs);
    Task Stop();
    Task Deactivate();
}

public sealed class TimerGrain(Probe probe) : Grain, ITimerGrain
{
    private IDisposable? timer;

    public Task Start(int periodMs, int callbackDelayMs)
    {
        timer = RegisterTimer(async _ =>
        {
            probe.Timer.Enter();
            probe.Grain.Enter();
            await Task.Delay(callbackDelayMs);
            probe.Grain.Exit();
            probe.Timer.Exit();
            Interlocked.Increment(ref probe.TimerTicks);
        }, TimeSpan.FromMilliseconds(periodMs), TimeSpan.FromMilliseconds(periodMs));
        return Task.CompletedTask;
    }

    public async Task<int> Busy(int delayMs)
    {
        probe.Grain.Enter();
        await Task.Delay(delayMs);
        probe.Grain.Exit();
        return Volatile.Read(ref probe.TimerTicks);
    }

    public Task Stop()
    {
        timer?.Dispose();
        return Task.CompletedTask;
    }

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

public interface IReminderGrain : IGrainWithStringKey
{
    Task RemindIn(string name, int dueMs, int? periodMs);
    Task<bool> Forget(string name);
    Task<int> ReminderCount();
}

public sealed class ReminderGrain(Probe probe) : Grain, IReminderGrain, IRemindable
{
    public Task RemindIn(string name, int dueMs, int? periodMs) => periodMs is { } p
        ? RegisterOrUpdateReminderAsync(name, TimeSpan.FromMilliseconds(dueMs), TimeSpan.FromMilliseconds(p))
        : RegisterOrUpdateReminderAsync(name, DateTimeOffset.UtcNow.AddMilliseconds(dueMs));

    public Task<bool> Forget(string name) => UnregisterReminderAsync(name);
    public async Task<int> ReminderCount() => (await GetRemindersAsync()).Count;

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        probe.Reminders.Enqueue((GrainKey, reminderName, status));
        return Task.CompletedTask;
    }
}

public interface IWatchGrain : IGrainWithStringKey
{
    Task<IAsyncEnumerable<long>> Watch(CancellationToken cancellationToken);
    Task<long> Increment();
    [ReadOnly] Task<int> WatcherCount();
}

public sealed class WatchGrain : Grain, IWatchGrain
{
    private readonly GrainObservers<long> watchers = new(capacity: 4);
    private long count;

    public Task<IAsyncEnumerable<long>> Watch(CancellationToken cancellationToken) => Task.FromResult(watchers.Subscribe(cancellationToken));

    public Task<long> Increment()
    {
        count++;
        watchers.Publish(count);
        return Task.FromResult(count);
    }

    public Task<int> WatcherCount() => Task.FromResult(watchers.SubscriberCount);
}

public interface ICollectibleGrain : IGrainWithStringKey
{
    Task Touch();
}

public sealed class CollectibleGrain(IPersistentState<CounterState> state, Probe probe) : Grain, ICollectibleGrain
{
    private readonly byte[] ballast = new byte[1024];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        probe.Instances.Enqueue(new WeakReference(this));
        Interlocked.Increment(ref probe.Activations);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref probe.Deactivations);
        return Task.CompletedTask;
    }

    public Task Touch() => Task.FromResult(ballast.Length + state.State.Count);
}

public interface IOutboxGrain : IGrainWithStringKey
{
    Task<long> Raise(string text);
    Task<WriteOutcome> Consume(string eventId, string text);
    [ReadOnly] Task<string> Text();
}

public sealed class OutboxGrain(IPersistentState<CounterState> state) : Grain, IOutboxGrain
{
    public async Task<long> Raise(string text)
    {
        state.State.Note = text;
        state.State.Count++;
        state.Publish(new OutboxMessage(GrainKey, "notices", "courtyard.test.notice_posted.v1", $"{{\"text\":\"{text}\"}}"));
        await state.WriteStateAsync();
        return state.LastOutboxIds.Single();
    }

    public async Task<WriteOutcome> Consume(string eventId, string text)
    {
        state.State.Note = text;
        state.State.Count++;
        state.Publish(new OutboxMessage(GrainKey, "notices", "courtyard.test.noted.v1", "{}"));
        return await state.WriteStateAsync(new InboxMark("test-consumer", "test-source", eventId));
    }

    public Task<string> Text() => Task.FromResult($"{state.State.Note}#{state.State.Count}");
}

public interface IProtoGrain : IGrainWithStringKey
{
    Task Set(string field, string value);
    [ReadOnly] Task<string?> Get(string field);
}

public sealed class ProtoGrain(IPersistentState<Google.Protobuf.WellKnownTypes.Struct> state) : Grain, IProtoGrain
{
    public async Task Set(string field, string value)
    {
        state.State.Fields[field] = Google.Protobuf.WellKnownTypes.Value.ForString(value);
        await state.WriteStateAsync();
    }

    public Task<string?> Get(string field)
        => Task.FromResult(state.State.Fields.TryGetValue(field, out var value) ? value.StringValue : null);
}
