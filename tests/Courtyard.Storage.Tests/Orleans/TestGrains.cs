// Grains the Orleans plug-in tests drive. Compiled into the tests and into Courtyard.Storage.Tests.Worker (the process
// the crash tests kill), so both store state the same way. Storage name = grain-type prefix = "tests".
using System.Collections.Concurrent;
using Courtyard.Storage;
using Orleans;
using Orleans.Concurrency;
using Orleans.EventSourcing;
using Orleans.EventSourcing.CustomStorage;
using Orleans.Providers;
using Orleans.Runtime;

namespace Courtyard.Storage.Tests.Grains;

public static class TestStorage
{
    public const string Name = "tests";
    public const string Consumer = "tests";
    public const string Source = "councils";
}

public interface ICounterGrain : IGrainWithStringKey
{
    /// <summary>Adds one and writes; with <paramref name="raise"/> the write also appends "key:count" to the outbox.</summary>
    Task<long> Increment(bool raise = false);

    /// <summary>Handles event <paramref name="eventId"/> exactly once: adds one and raises "handled eventId", consuming its inbox mark.</summary>
    Task<long> Handle(string eventId);

    Task<long> Get();

    Task Clear();

    Task<string?> ETag();

    /// <summary>A value fixed when the activation started: it changes when Orleans drops the activation and makes a new one.</summary>
    [AlwaysInterleave]
    Task<Guid> ActivationStamp();

    /// <summary>Outbox rows still pending in the state's effects (answered even while a write is in flight).</summary>
    [AlwaysInterleave]
    Task<int> PendingOutbox();

    Task<bool> EffectsInitialized();
}

[GenerateSerializer]
public sealed class CounterState : IHasPendingEffects
{
    [Id(0)] public long Count { get; set; }
    [Id(1)] public string Note { get; set; } = "";

    [field: NonSerialized] public PendingEffects Effects { get; } = new();
}

[GrainType("tests.counter")]
public sealed class CounterGrain([PersistentState("counter", TestStorage.Name)] IPersistentState<CounterState> state) : Grain, ICounterGrain
{
    private readonly Guid stamp = Guid.NewGuid();

    public async Task<long> Increment(bool raise = false)
    {
        state.State.Count++;
        if (raise) Raise($"{this.GetPrimaryKeyString()}:{state.State.Count}");
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public async Task<long> Handle(string eventId)
    {
        state.State.Effects.Consume(new InboxMark(TestStorage.Consumer, TestStorage.Source, eventId));
        state.State.Count++;
        Raise("handled " + eventId);
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task<long> Get() => Task.FromResult(state.State.Count);

    public Task Clear() => state.ClearStateAsync();

    public Task<string?> ETag() => Task.FromResult(state.Etag);

    public Task<Guid> ActivationStamp() => Task.FromResult(stamp);

    public Task<int> PendingOutbox() => Task.FromResult(state.State.Effects.Outbox.Count);

    public Task<bool> EffectsInitialized() => Task.FromResult(state.State.Effects is { IsEmpty: true });

    private void Raise(string payload) =>
        state.State.Effects.Publish(new OutboxMessage(this.GetPrimaryKeyString(), "tests", "courtyard.tests.counted.v1", payload));
}

/// <summary>Reminder ticks the probe grains received, in this process.</summary>
public sealed class ReminderTicks
{
    public ConcurrentQueue<(GrainId Grain, string Name, DateTime At)> Received { get; } = new();
}

public interface IReminderProbeGrain : IGrainWithStringKey
{
    Task Register(string name, TimeSpan dueTime, TimeSpan period);
    Task Unregister(string name);
}

[GrainType("tests.reminder-probe")]
public sealed class ReminderProbeGrain(ReminderTicks ticks) : Grain, IReminderProbeGrain, IRemindable
{
    public Task Register(string name, TimeSpan dueTime, TimeSpan period) => this.RegisterOrUpdateReminder(name, dueTime, period);

    public async Task Unregister(string name)
    {
        if (await this.GetReminder(name) is { } reminder) await this.UnregisterReminder(reminder);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        ticks.Received.Enqueue((this.GetGrainId(), reminderName, DateTime.UtcNow));
        return Task.CompletedTask;
    }
}

/// <summary>The same probe under another service's prefix: its reminders belong to the storage "rules".</summary>
[GrainType("rules.reminder-probe")]
public sealed class RulesReminderProbeGrain(ReminderTicks ticks) : Grain, IRulesReminderProbeGrain, IRemindable
{
    public Task Register(string name, TimeSpan dueTime, TimeSpan period) => this.RegisterOrUpdateReminder(name, dueTime, period);

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        ticks.Received.Enqueue((this.GetGrainId(), reminderName, DateTime.UtcNow));
        return Task.CompletedTask;
    }
}

public interface IRulesReminderProbeGrain : IGrainWithStringKey
{
    Task Register(string name, TimeSpan dueTime, TimeSpan period);
}

public interface IBallotBoxGrain : IGrainWithStringKey
{
    /// <summary>Records a ballot; with <paramref name="eventId"/>, exactly once for that event.</summary>
    Task<int> Cast(string voter, bool yes, string? eventId = null);

    /// <summary>Records <paramref name="count"/> ballots as one batch of events.</summary>
    Task<int> CastMany(int count);

    /// <summary>Like <see cref="Cast"/> with an event id, as if the mark was recorded by a competing delivery after the check.</summary>
    Task<int> CastAfterCheck(string voter, bool yes, string eventId);

    Task<BallotTally> Tally();

    [AlwaysInterleave]
    Task<Guid> ActivationStamp();
}

[GenerateSerializer, Immutable]
public sealed record BallotTally([property: Id(0)] int Version, [property: Id(1)] int Yes, [property: Id(2)] int No);

[GenerateSerializer]
public sealed class BallotBoxState
{
    [Id(0)] public int Yes { get; set; }
    [Id(1)] public int No { get; set; }
}

[GenerateSerializer]
public abstract class BallotEvent;

[GenerateSerializer]
public sealed class BallotCast : BallotEvent
{
    [Id(0)] public string Voter { get; set; } = "";
    [Id(1)] public bool Yes { get; set; }
}

[GrainType("tests.ballot-box")]
[LogConsistencyProvider(ProviderName = "CustomStorage")]
public sealed class BallotBoxGrain([Journal(TestStorage.Name)] IJournal<BallotBoxState, BallotEvent> journal)
    : JournaledGrain<BallotBoxState, BallotEvent>, IBallotBoxGrain, ICustomStorageInterface<BallotBoxState, BallotEvent>
{
    private readonly Guid stamp = Guid.NewGuid();

    public async Task<int> Cast(string voter, bool yes, string? eventId = null)
    {
        if (eventId is not null) await journal.ConsumeAsync(new InboxMark(TestStorage.Consumer, TestStorage.Source, eventId));
        RaiseEvent(new BallotCast { Voter = voter, Yes = yes });
        journal.Effects.Publish(new OutboxMessage(this.GetPrimaryKeyString(), "tests", "courtyard.tests.ballot_cast.v1", voter));
        await ConfirmEvents();
        return Version;
    }

    public async Task<int> CastAfterCheck(string voter, bool yes, string eventId)
    {
        journal.Effects.Consume(new InboxMark(TestStorage.Consumer, TestStorage.Source, eventId));
        RaiseEvent(new BallotCast { Voter = voter, Yes = yes });
        journal.Effects.Publish(new OutboxMessage(this.GetPrimaryKeyString(), "tests", "courtyard.tests.ballot_cast.v1", voter));
        await ConfirmEvents();
        return Version;
    }

    public Task<Guid> ActivationStamp() => Task.FromResult(stamp);

    public async Task<int> CastMany(int count)
    {
        RaiseEvents(Enumerable.Range(0, count).Select(i => new BallotCast { Voter = "v" + i, Yes = i % 2 == 0 }));
        await ConfirmEvents();
        return Version;
    }

    public Task<BallotTally> Tally() => Task.FromResult(new BallotTally(Version, State.Yes, State.No));

    protected override void TransitionState(BallotBoxState state, BallotEvent @event)
    {
        if (@event is BallotCast { Yes: true }) state.Yes++;
        else state.No++;
    }

    public Task<KeyValuePair<int, BallotBoxState>> ReadStateFromStorage() => journal.ReadAsync(TransitionState);

    public Task<bool> ApplyUpdatesToStorage(IReadOnlyList<BallotEvent> updates, int expectedVersion) =>
        journal.AppendAsync(State, updates, expectedVersion);
}
