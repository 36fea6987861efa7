using System.Collections.Concurrent;

namespace Courtyard.Grains.Tests.Grains;

/// <summary>Counts how many callers are inside a section at once and remembers the highest count.</summary>
public sealed class ConcurrencyGauge
{
    private int current;
    private int max;

    public int Max => Volatile.Read(ref max);
    public int Current => Volatile.Read(ref current);

    public void Enter()
    {
        var now = Interlocked.Increment(ref current);
        int seen;
        while (now > (seen = Volatile.Read(ref max)) && Interlocked.CompareExchange(ref max, now, seen) != seen) { }
    }

    public void Exit() => Interlocked.Decrement(ref current);
}

/// <summary>What test grains observe, shared with the test through DI (one per test host).</summary>
public sealed class Probe
{
    public ConcurrencyGauge Grain { get; } = new();
    public ConcurrencyGauge Readers { get; } = new();
    public ConcurrencyGauge Writers { get; } = new();
    public ConcurrencyGauge Timer { get; } = new();
    public int ReadWriteOverlaps;
    public int TimerTicks;
    public int Activations;
    public int Deactivations;
    public volatile bool FailActivation;
    public ConcurrentQueue<(string Key, string Name, TickStatus Status)> Reminders { get; } = new();
    public ConcurrentQueue<WeakReference> Instances { get; } = new();
    public TaskCompletionSource Gate { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
