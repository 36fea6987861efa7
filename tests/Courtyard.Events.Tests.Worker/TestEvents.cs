using Orleans.Storage;
using Courtyard.Storage;

namespace Courtyard.Events.Testing;

/// <summary>Helpers over the test events (proto/test_events.proto), shared by the tests, the worker and the benchmark.</summary>
public static class TestEvents
{
    public const string Topic = "testing";
    public const string ThingHappenedType = "courtyard.testing.thing_happened.v1";
    public const string PoisonPillType = "courtyard.testing.poison_pill.v1";

    /// <summary>Commits a state change of <paramref name="courtyardId"/> together with its event (one transaction) and wakes the relay.</summary>
    public static async Task<long> CommitThingAsync(this EventBus bus, string courtyardId, long sequence, long expectedVersion, long committedAtTicks = 0)
    {
        var result = await bus.Storage.State.WriteAsync(new StateWrite
        {
            StateType = "producer",
            Key = courtyardId,
            Data = BitConverter.GetBytes(sequence),
            ExpectedVersion = expectedVersion,
            Outbox = [EventCatalog.ToOutbox(courtyardId, new ThingHappened { ThingId = $"{courtyardId}/{sequence}", Sequence = sequence, CommittedAtTicks = committedAtTicks })],
        });
        bus.Relay.Wake();
        return result.NewVersion;
    }

    /// <summary>
    /// The handler's effect, exactly once: bump a counter per thing, recording the inbox mark in the same transaction.
    /// A write whose mark was recorded before commits nothing (AlreadyConsumed).
    /// </summary>
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
