using Courtyard.Storage;

namespace Courtyard.Events.Testing;

/// <summary>The test events' contracts, declared once for the tests, the worker and the benchmark.</summary>
public static class TestEvents
{
    public const string Topic = "testing";
    public const string ThingHappenedType = "courtyard.testing.thing_happened.v1";
    public const string PoisonPillType = "courtyard.testing.poison_pill.v1";

    public static EventBus MapTestEvents(this EventBus bus) => bus
        .Map<ThingHappened>(ThingHappenedType, topic: Topic)
        .Map<PoisonPill>(PoisonPillType, topic: Topic);

    /// <summary>Commits a state change of <paramref name="partition"/> together with its event (one transaction).</summary>
    public static async Task<long> CommitThingAsync(this EventBus bus, string partition, long sequence, long expectedVersion, long committedAtTicks = 0)
    {
        var result = await bus.Storage.State.WriteAsync(new StateWrite
        {
            StateType = "producer",
            Key = partition,
            Data = BitConverter.GetBytes(sequence),
            ExpectedVersion = expectedVersion,
            Outbox = [bus.ToOutbox(partition, new ThingHappened { ThingId = $"{partition}/{sequence}", Sequence = sequence, CommittedAtTicks = committedAtTicks })],
        });
        bus.NotifyCommitted();
        return result.NewVersion;
    }

    /// <summary>The handler's effect, exactly once: bump a counter per thing, recording the inbox mark in the same transaction.</summary>
    public static async Task<WriteOutcome> ApplyEffectAsync(IStorageProvider storage, string thingId, InboxMark mark)
    {
        while (true)
        {
            var current = await storage.State.ReadAsync("effect", thingId);
            var count = current is null ? 0 : BitConverter.ToInt64(current.Data);
            try
            {
                var result = await storage.State.WriteAsync(new StateWrite
                {
                    StateType = "effect",
                    Key = thingId,
                    Data = BitConverter.GetBytes(count + 1),
                    ExpectedVersion = current?.Version ?? 0,
                    Consumes = mark,
                });
                return result.Outcome;
            }
            catch (InconsistentStateException)
            {
                // Someone else applied an effect to this thing meanwhile: read again.
            }
        }
    }

    public static async Task<long> ReadEffectCountAsync(IStorageProvider storage, string thingId)
    {
        var current = await storage.State.ReadAsync("effect", thingId);
        return current is null ? 0 : BitConverter.ToInt64(current.Data);
    }
}
