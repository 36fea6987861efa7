namespace Courtyard.Grains;

/// <summary>Marker for grain interfaces. Use <see cref="IGrainWithStringKey"/> or <see cref="IGrainWithGuidKey"/>.</summary>
public interface IGrain;

/// <summary>A grain identified by a string key (e.g. a courtyard id).</summary>
public interface IGrainWithStringKey : IGrain;

/// <summary>A grain identified by a Guid key.</summary>
public interface IGrainWithGuidKey : IGrain;

/// <summary>Hands out references (proxies) to grains. A reference is cheap; the grain is activated on its first call.</summary>
public interface IGrainFactory
{
    TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrainWithStringKey;
    TGrainInterface GetGrain<TGrainInterface>(Guid key) where TGrainInterface : IGrainWithGuidKey;
}

/// <summary>Implemented by grains that register durable reminders.</summary>
public interface IRemindable
{
    Task ReceiveReminder(string reminderName, TickStatus status);
}

/// <summary>Describes one reminder tick: when it was due, its period (null = one-shot) and when it actually fired.</summary>
public readonly record struct TickStatus(DateTimeOffset DueAt, TimeSpan? Period, DateTimeOffset CurrentTickTime);

/// <summary>A reminder as registered for a grain.</summary>
public sealed record GrainReminder(string Name, DateTimeOffset DueAt, TimeSpan? Period);

/// <summary>The method only reads: it may run concurrently with other [ReadOnly] calls, never with other calls.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ReadOnlyAttribute : Attribute;

/// <summary>The method interleaves with every other call of the activation (it must not mutate unguarded state).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AlwaysInterleaveAttribute : Attribute;

/// <summary>Every call of this grain class interleaves with every other; the class takes care of its own consistency.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ReentrantAttribute : Attribute;

/// <summary>Names the state of an <see cref="IPersistentState{TState}"/> constructor parameter (default: the grain class name).</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class PersistentStateAttribute(string stateName) : Attribute
{
    public string StateName { get; } = stateName;
}

/// <summary>Why an activation is going away (passed to <see cref="Grain.OnDeactivateAsync"/>).</summary>
public enum DeactivationReason
{
    /// <summary>Idle longer than the collection age.</summary>
    IdleCollected,
    /// <summary>The grain called <see cref="Grain.DeactivateOnIdle"/>.</summary>
    DeactivateOnIdle,
    /// <summary>A state write failed (version conflict or storage error): the next call reloads from storage.</summary>
    WriteFailed,
    /// <summary>The host is shutting down.</summary>
    ShuttingDown,
}

/// <summary>
/// A call would wait for a turn that is itself waiting for this call (a non-reentrant grain calling back into itself,
/// directly or through other grains). Orleans would hang until the call timeout; this runtime fails fast instead.
/// </summary>
public sealed class DeadlockException(string message) : InvalidOperationException(message);
