using System.Collections.Concurrent;
using System.Net;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Events.Transports;
using Courtyard.Events.V1;
using Courtyard.Testing;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Events.Tests;

/// <summary>Against the real local RabbitMQ (scripts/rabbitmq.sh).</summary>
[Collection(RabbitMqCollection.Name)]
public class RabbitMqTests(TestRabbitMq broker)
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);

    private RabbitMqTransport NewTransport(string exchange) => new(new RabbitMqTransportOptions
    {
        Url = broker.Url,
        Exchange = exchange,
        RedeliveryBackoff = new Backoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100)),
    });

    /// <summary>
    /// A replica that neither consumes nor holds the relay lease never uses its transport; readiness asks it to connect,
    /// so it is ready once the broker answers (and not while it cannot be reached).
    /// </summary>
    [Fact]
    public async Task A_transport_nothing_has_used_yet_connects_when_readiness_asks()
    {
        await using var unused = NewTransport(TestRabbitMq.UniqueName("unused"));
        await using var unreachable = new RabbitMqTransport(new RabbitMqTransportOptions { Url = "amqp://guest:guest@127.0.0.1:1/" });

        Assert.False(unused.IsConnected);
        Assert.True(await unused.CheckConnectionAsync(CancellationToken.None));
        Assert.False(await unreachable.CheckConnectionAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Events_flow_through_durable_queues_in_order_per_courtyard_with_the_envelope_intact()
    {
        var exchange = TestRabbitMq.UniqueName("flow");
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<long>>();
        var envelopes = new ConcurrentBag<CloudEvent>();
        await using (var services = await TwoServices.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, context) =>
        {
            seen.GetOrAdd(context.CourtyardId, _ => new()).Enqueue(thing.Sequence);
            envelopes.Add(context.Event);
            return Task.CompletedTask;
        }), NewTransport(exchange)))
        {
            const int courtyards = 6, perCourtyard = 40;
            await Task.WhenAll(Enumerable.Range(0, courtyards).Select(c => Task.Run(async () =>
            {
                for (var s = 0; s < perCourtyard; s++)
                {
                    await services.CommitAsync($"courtyard-{c}", s);
                }
            })));

            await Eventually.HoldsAsync(() => seen.Values.Sum(q => q.Count) >= courtyards * perCourtyard, Within, "every event handled");
            for (var c = 0; c < courtyards; c++)
            {
                Assert.Equal(Enumerable.Range(0, perCourtyard).Select(i => (long)i), seen[$"courtyard-{c}"]);
            }
            Assert.Equal(courtyards * perCourtyard, envelopes.Select(e => e.Id).Distinct().Count());
            Assert.All(envelopes, e =>
            {
                Assert.Equal("councils", e.Source);
                Assert.Equal(TestEvents.ThingHappenedType, e.Type);
                Assert.Equal("application/json", e.DataContentType);
            });
            await Eventually.HoldsAsync(async () => (await services.Producer.Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "outbox marked sent");
            Assert.Equal(0u, await broker.CountMessagesAsync(RabbitMqTransport.QueueName(exchange, "rules", TestEvents.Topic)));
        }
        await broker.DeleteAsync(exchange, RabbitMqTransport.QueueName(exchange, "rules", TestEvents.Topic));
    }

    [Fact]
    public async Task A_handler_that_always_throws_dead_letters_once_in_the_store_and_the_admin_rpc_replays_it_once_fixed()
    {
        var exchange = TestRabbitMq.UniqueName("poison");
        var queue = RabbitMqTransport.QueueName(exchange, "rules", TestEvents.Topic);
        var handlerFixed = false;
        var poisonRuns = 0;
        var handled = new ConcurrentBag<long>();
        await using (var services = await TwoServices.StartAsync(rules =>
        {
            rules.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, _) => { handled.Add(thing.Sequence); return Task.CompletedTask; });
            rules.HandleWithoutStoredEffect<PoisonPill>("rules", (_, _) =>
            {
                Interlocked.Increment(ref poisonRuns);
                return handlerFixed ? Task.CompletedTask : throw new InvalidOperationException("handler bug");
            });
        }, NewTransport(exchange), consumerOptions: o => o.MaxDeliveryAttempts = 4))
        {
            await services.Producer.PublishAsync("courtyard-P", new PoisonPill { Reason = "always throws" });
            for (var s = 0; s < 30; s++)
            {
                await services.CommitAsync($"courtyard-{s % 5}", s);
            }

            await Eventually.HoldsAsync(() => handled.Count == 30, Within, "other events keep flowing");
            await Eventually.HoldsAsync(async () => await services.Consumer.Storage.DeadLetters.CountAsync() == 1, Within, "the event is a dead letter in the store");
            Assert.Equal(4, poisonRuns);
            var letter = Assert.Single(await services.Consumer.Storage.DeadLetters.ListAsync(null, 10));
            Assert.Equal(TestEvents.PoisonPillType, letter.EventType);
            // Kept once: the broker's copy was acked once stored; no dead-letter queue holds a second one.
            await Eventually.HoldsAsync(async () => await broker.CountMessagesAsync(queue) == 0, Within, "the queue is empty");
            Assert.False(await broker.QueueExistsAsync(queue + ".dead"), "a broker-side dead-letter queue exists");

            await using var admin = await AdminServer.StartAsync(services.Consumer);
            var listed = await admin.Client.ListDeadLettersAsync(new ListDeadLettersRequest { Consumer = "rules" });
            var listedLetter = Assert.Single(listed.DeadLetters);
            Assert.Equal(("rules", letter.Id, letter.EventId, "courtyard-P", 4), (listedLetter.Service, listedLetter.Id, listedLetter.EventId, listedLetter.CourtyardId, listedLetter.Attempts));
            Assert.Contains("handler bug", listedLetter.LastError);

            var stillBroken = await Assert.ThrowsAsync<RpcException>(() => admin.Client.ReplayDeadLetterAsync(new ReplayDeadLetterRequest { Id = letter.Id }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, stillBroken.StatusCode);
            Assert.Contains("重放再次失败", stillBroken.Status.Detail);
            Assert.Contains("handler bug", stillBroken.Status.Detail);

            handlerFixed = true;
            var replayed = await admin.Client.ReplayDeadLetterAsync(new ReplayDeadLetterRequest { Id = letter.Id });
            Assert.True(replayed.Handled);
            Assert.Empty((await admin.Client.ListDeadLettersAsync(new ListDeadLettersRequest())).DeadLetters);
            var gone = await Assert.ThrowsAsync<RpcException>(() => admin.Client.ReplayDeadLetterAsync(new ReplayDeadLetterRequest { Id = letter.Id }).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        }
        await broker.DeleteAsync(exchange, queue);
    }

    [Fact]
    public async Task Consumer_queues_are_quorum_queues()
    {
        var exchange = TestRabbitMq.UniqueName("quorum");
        var queue = RabbitMqTransport.QueueName(exchange, "rules", TestEvents.Topic);
        var handled = 0;
        await using (var services = await TwoServices.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (_, _) =>
        {
            Interlocked.Increment(ref handled);
            return Task.CompletedTask;
        }), NewTransport(exchange)))
        {
            await services.CommitAsync("courtyard-1", 0);
            await Eventually.HoldsAsync(() => handled == 1, Within, "handled");
            Assert.True(await broker.IsQuorumQueueAsync(queue), $"{queue} is not a quorum queue");
        }
        await broker.DeleteAsync(exchange, queue);
    }

    [Fact]
    public async Task An_event_for_a_topic_nobody_subscribed_to_is_accepted_and_dropped_without_a_queue_growing_on_the_broker()
    {
        var exchange = TestRabbitMq.UniqueName("unrouted");
        await using var transport = NewTransport(exchange);
        var cloudEvent = new CloudEvent
        {
            Id = "councils-1", Source = "councils", Type = TestEvents.ThingHappenedType, Subject = "courtyard-1",
            Data = EventCatalog.FormatData(new ThingHappened { ThingId = "x" }),
        };

        var result = await transport.PublishAsync([OutgoingEvent.Create("nobody-listens", cloudEvent)], CancellationToken.None);

        Assert.Equal(1, result.Accepted);
        Assert.False(await broker.QueueExistsAsync(exchange + ".unrouted"));
        await broker.DeleteAsync(exchange);
    }
}
