using Orleans.Storage;
using Courtyard.Events.Inbox;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Events.Transports;
using Courtyard.Storage;
using Courtyard.Storage.Postgres;
using Courtyard.Testing;

namespace Courtyard.Events.Tests;

/// <summary>
/// Two deliveries of one event that both pass the duplicate check before either handler writes (competing consumers, a
/// Dapr redelivery, two relays during a takeover), for every kind of effect a handler has, on both storage providers:
/// the effect happens once, because the inbox mark commits in the same transaction as the effect.
/// </summary>
public sealed class ExactlyOnceTests
{
    /// <summary>Lets the racing handlers each read the state before either writes.</summary>
    private sealed class Rendezvous(int parties)
    {
        private int arrived;
        private readonly TaskCompletionSource all = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task ArriveAsync()
        {
            if (Interlocked.Increment(ref arrived) == parties)
            {
                all.TrySetResult();
            }
            return all.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private sealed class Consumer : IAsyncDisposable
    {
        private readonly TempDatabase? sqlite;
        private readonly string? postgres;

        private Consumer(TempDatabase? sqlite, string? postgres, IStorageProvider storage)
        {
            this.sqlite = sqlite;
            this.postgres = postgres;
            Storage = storage;
        }

        public IStorageProvider Storage { get; }
        public EventBus Bus { get; private set; } = null!;

        public static async Task<Consumer> StartAsync(string provider, Action<EventBus, IStorageProvider> declare)
        {
            Consumer consumer;
            if (provider == "sqlite")
            {
                var database = new TempDatabase("rules");
                consumer = new Consumer(database, null, await database.OpenAsync());
            }
            else
            {
                var connectionString = await TestPostgres.CreateDatabaseAsync();
                consumer = new Consumer(null, connectionString, await PostgresStorageProvider.OpenAsync(connectionString));
            }
            consumer.Bus = new EventBus(new EventBusOptions { Source = "rules", RelayEnabled = false }, consumer.Storage, new InProcessTransport());
            declare(consumer.Bus, consumer.Storage);
            await consumer.Bus.StartAsync();
            return consumer;
        }

        public async ValueTask DisposeAsync()
        {
            await Bus.StopAsync();
            await Storage.DisposeAsync();
            if (sqlite is not null)
            {
                await sqlite.DisposeAsync();
            }
            if (postgres is not null)
            {
                await TestPostgres.DropDatabaseAsync(postgres);
            }
        }
    }

    private static CloudEvent Thing(string thingId) => new()
    {
        Id = "councils-42", Source = "councils", Type = TestEvents.ThingHappenedType, Subject = "courtyard-1",
        Data = EventCatalog.FormatData(new ThingHappened { ThingId = thingId }),
    };

    /// <summary>Reads the counter, waits until the other delivery has read it too, then writes +1 with the mark.</summary>
    private static async Task<WriteOutcome> IncrementAsync(IStorageProvider storage, string key, InboxMark mark, Rendezvous? rendezvous,
        IReadOnlyList<OutboxMessage>? raises = null)
    {
        while (true)
        {
            var current = await storage.State.ReadAsync("effect", key);
            if (rendezvous is not null)
            {
                await rendezvous.ArriveAsync();
                rendezvous = null;
            }
            try
            {
                return (await storage.State.WriteAsync(new StateWrite
                {
                    StateType = "effect",
                    Key = key,
                    Data = BitConverter.GetBytes((current is null ? 0 : BitConverter.ToInt64(current.Data)) + 1),
                    ExpectedVersion = current?.Version ?? 0,
                    Consumes = mark,
                    Outbox = raises ?? [],
                })).Outcome;
            }
            catch (InconsistentStateException)
            {
                // The other delivery wrote first: read again (as a grain reloads its state) and try again.
            }
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task One_state_write_carrying_the_mark_happens_once(string provider)
    {
        var rendezvous = new Rendezvous(2);
        await using var consumer = await Consumer.StartAsync(provider, (bus, storage) => bus.Handle<ThingHappened>("rules",
            (thing, delivery) => IncrementAsync(storage, thing.ThingId, delivery.TakeMark(), rendezvous)));

        var outcomes = await consumer.Bus.DeliverConcurrentlyAsync("rules", Thing("thing-1"));

        Assert.Equal([HandleOutcome.Handled, HandleOutcome.Handled], outcomes);   // the second write found the mark and wrote nothing
        Assert.Equal(1, await TestEvents.ReadEffectCountAsync(consumer.Storage, "thing-1"));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Several_state_writes_each_with_a_mark_of_its_own_happen_once_each(string provider)
    {
        var rendezvous = new Rendezvous(2);
        await using var consumer = await Consumer.StartAsync(provider, (bus, storage) => bus.Handle<ThingHappened>("rules", async (thing, delivery) =>
        {
            await IncrementAsync(storage, thing.ThingId + "/rulebook", delivery.TakeMarkFor("rulebook"), rendezvous);
            await IncrementAsync(storage, thing.ThingId + "/notices", delivery.TakeMarkFor("notices"), null);
        }));

        var outcomes = await consumer.Bus.DeliverConcurrentlyAsync("rules", Thing("thing-2"));

        Assert.All(outcomes, outcome => Assert.Equal(HandleOutcome.Handled, outcome));
        Assert.Equal(1, await TestEvents.ReadEffectCountAsync(consumer.Storage, "thing-2/rulebook"));
        Assert.Equal(1, await TestEvents.ReadEffectCountAsync(consumer.Storage, "thing-2/notices"));
        Assert.True(await consumer.Storage.Inbox.ContainsAsync(new InboxMark("rules", "councils", "councils-42")), "the event itself recorded for the duplicate check");
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_state_write_that_raises_an_event_commits_the_event_once(string provider)
    {
        var rendezvous = new Rendezvous(2);
        await using var consumer = await Consumer.StartAsync(provider, (bus, storage) => bus.Handle<ThingHappened>("rules",
            (thing, delivery) => IncrementAsync(storage, thing.ThingId, delivery.TakeMark(), rendezvous,
                [EventCatalog.ToOutbox(delivery.CourtyardId, new ThingHappened { ThingId = thing.ThingId + "/follow-up" })])));

        await consumer.Bus.DeliverConcurrentlyAsync("rules", Thing("thing-3"));

        Assert.Equal(1, await TestEvents.ReadEffectCountAsync(consumer.Storage, "thing-3"));
        Assert.Single(await consumer.Storage.Outbox.ReadUnsentAsync(10));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_handler_that_takes_the_mark_and_writes_without_it_fails_loudly_and_its_event_is_dead_lettered(string provider)
    {
        await using var consumer = await Consumer.StartAsync(provider, (bus, storage) => bus.Handle<ThingHappened>("rules", async (thing, delivery) =>
        {
            _ = delivery.TakeMark();
            await storage.State.WriteAsync(new StateWrite { StateType = "effect", Key = thing.ThingId, Data = [1] });   // forgot Consumes
        }));

        Assert.Equal([HandleOutcome.Failed], await consumer.Bus.DeliverConcurrentlyAsync("rules", Thing("thing-4"), deliveries: 1));
        Assert.False(await consumer.Storage.Inbox.ContainsAsync(new InboxMark("rules", "councils", "councils-42")));

        var delivery = new IncomingEvent(TestEvents.Topic, Thing("thing-5").ToJsonUtf8(), DeliveryAttempt: 5, Redelivered: true);
        var dispatcher = new ConsumerDispatcher("rules", [new HandlerRegistration(EventCatalog.Get<ThingHappened>(), (_, d) => { d.TakeMark(); return Task.CompletedTask; })],
            consumer.Storage, new EventBusOptions { Source = "rules" }, EmptyServices.Instance, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.Equal(DeliveryResult.Drop, await dispatcher.DispatchAsync(delivery, CancellationToken.None));
        var letter = Assert.Single(await consumer.Storage.DeadLetters.ListAsync("rules", 10));
        Assert.Contains("took the inbox mark", letter.LastError);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_handler_declared_with_a_stored_effect_that_takes_no_mark_fails_loudly_and_one_declared_without_is_recorded(string provider)
    {
        var runs = 0;
        await using var consumer = await Consumer.StartAsync(provider, (bus, storage) =>
        {
            bus.Handle<ThingHappened>("rules", (thing, _) =>
                storage.State.WriteAsync(new StateWrite { StateType = "effect", Key = thing.ThingId, Data = [1] }));   // the mark forgotten
            bus.HandleWithoutStoredEffect<ThingHappened>("audit", (_, _) => { Interlocked.Increment(ref runs); return Task.CompletedTask; });
        });

        Assert.Equal([HandleOutcome.Failed], await consumer.Bus.DeliverConcurrentlyAsync("rules", Thing("thing-7"), deliveries: 1));
        Assert.False(await consumer.Storage.Inbox.ContainsAsync(new InboxMark("rules", "councils", "councils-42")));

        Assert.Equal([HandleOutcome.Handled], await consumer.Bus.DeliverConcurrentlyAsync("audit", Thing("thing-7"), deliveries: 1));
        Assert.True(await consumer.Storage.Inbox.ContainsAsync(new InboxMark("audit", "councils", "councils-42")));
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task An_event_the_broker_delivered_more_often_than_allowed_without_it_ever_settling_is_dead_lettered_without_running_again()
    {
        await using var database = new TempDatabase("rules");
        var storage = await database.OpenAsync();
        var runs = 0;
        var dispatcher = new ConsumerDispatcher("rules",
            [new HandlerRegistration(EventCatalog.Get<ThingHappened>(), (_, _) => { Interlocked.Increment(ref runs); return Task.CompletedTask; })],
            storage, new EventBusOptions { Source = "rules", MaxDeliveryAttempts = 5 }, EmptyServices.Instance,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        // A quorum queue's x-delivery-count says the 5 deliveries before this one all ended without an ack (the process died).
        var sixth = new IncomingEvent(TestEvents.Topic, Thing("thing-6").ToJsonUtf8(), DeliveryAttempt: 6, Redelivered: true);

        Assert.Equal(DeliveryResult.Drop, await dispatcher.DispatchAsync(sixth, CancellationToken.None));
        Assert.Equal(0, runs);
        var letter = Assert.Single(await storage.DeadLetters.ListAsync("rules", 10));
        Assert.Contains("Delivered 5 times without being settled", letter.LastError);
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();
        public object? GetService(Type serviceType) => null;
    }
}
