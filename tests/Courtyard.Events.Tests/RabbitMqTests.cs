using System.Collections.Concurrent;
using System.Net;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Testing;
using Courtyard.Events.Transports;
using Courtyard.Events.V1;
using Courtyard.Grpc;
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

    [Fact]
    public async Task Events_flow_through_durable_queues_in_order_per_courtyard_with_the_envelope_intact()
    {
        var exchange = TestRabbitMq.UniqueName("flow");
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<long>>();
        var envelopes = new ConcurrentBag<CloudEvent>();
        await using (var services = await TwoServices.StartAsync(rules => rules.Handle<ThingHappened>("rules", (thing, context) =>
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
        await broker.DeleteAsync(exchange, RabbitMqTransport.QueueName(exchange, "rules", TestEvents.Topic), RabbitMqTransport.DeadLetterQueueName(exchange, "rules", TestEvents.Topic));
    }

    [Fact]
    public async Task A_handler_that_always_throws_dead_letters_to_the_store_and_the_broker_and_the_admin_rpc_replays_it_once_fixed()
    {
        var exchange = TestRabbitMq.UniqueName("poison");
        var queue = RabbitMqTransport.QueueName(exchange, "rules", TestEvents.Topic);
        var deadQueue = RabbitMqTransport.DeadLetterQueueName(exchange, "rules", TestEvents.Topic);
        var handlerFixed = false;
        var poisonRuns = 0;
        var handled = new ConcurrentBag<long>();
        await using (var services = await TwoServices.StartAsync(rules =>
        {
            rules.Handle<ThingHappened>("rules", (thing, _) => { handled.Add(thing.Sequence); return Task.CompletedTask; });
            rules.Handle<PoisonPill>("rules", (_, _) =>
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
            await Eventually.HoldsAsync(async () => await broker.CountMessagesAsync(deadQueue) == 1, Within, "the broker's dead-letter queue holds the event");
            Assert.Equal(4, poisonRuns);
            var letter = Assert.Single(await services.Consumer.Storage.DeadLetters.ListAsync(null, 10));
            Assert.Equal(TestEvents.PoisonPillType, letter.EventType);

            await using var admin = await AdminServer.StartAsync(services.Consumer);
            var listed = await admin.Channel.UnaryAsync(AdminServer.List, new ListDeadLettersRequest { Consumer = "rules" });
            var listedLetter = Assert.Single(listed.DeadLetters);
            Assert.Equal(("rules", letter.Id, letter.EventId, "courtyard-P", 4), (listedLetter.Service, listedLetter.Id, listedLetter.EventId, listedLetter.Partition, listedLetter.Attempts));
            Assert.Contains("handler bug", listedLetter.LastError);

            var stillBroken = await Assert.ThrowsAsync<RpcException>(() => admin.Channel.UnaryAsync(AdminServer.Replay, new ReplayDeadLetterRequest { Id = letter.Id }));
            Assert.Equal(StatusCode.FailedPrecondition, stillBroken.StatusCode);
            Assert.Contains("handler bug", stillBroken.Status.Detail);

            handlerFixed = true;
            var replayed = await admin.Channel.UnaryAsync(AdminServer.Replay, new ReplayDeadLetterRequest { Id = letter.Id });
            Assert.True(replayed.Handled);
            Assert.Empty((await admin.Channel.UnaryAsync(AdminServer.List, new ListDeadLettersRequest())).DeadLetters);
            var gone = await Assert.ThrowsAsync<RpcException>(() => admin.Channel.UnaryAsync(AdminServer.Replay, new ReplayDeadLetterRequest { Id = letter.Id }));
            Assert.Equal(StatusCode.NotFound, gone.StatusCode);
            Assert.Equal(0u, await broker.CountMessagesAsync(queue));
        }
        await broker.DeleteAsync(exchange, queue, deadQueue);
    }

    /// <summary>The admin gRPC service on our transport, on a dynamic loopback port.</summary>
    private sealed class AdminServer : IAsyncDisposable
    {
        public static readonly Method<ListDeadLettersRequest, ListDeadLettersResponse> List =
            Method.Create<ListDeadLettersRequest, ListDeadLettersResponse>(EventAdminReflection.Descriptor, "EventAdmin", "ListDeadLetters");
        public static readonly Method<ReplayDeadLetterRequest, ReplayDeadLetterResponse> Replay =
            Method.Create<ReplayDeadLetterRequest, ReplayDeadLetterResponse>(EventAdminReflection.Descriptor, "EventAdmin", "ReplayDeadLetter");

        private readonly WebApplication app;

        private AdminServer(WebApplication app, GrpcChannel channel)
        {
            this.app = app;
            Channel = channel;
        }

        public GrpcChannel Channel { get; }

        public static async Task<AdminServer> StartAsync(EventBus bus)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.ListenGrpc(IPAddress.Loopback, 0));
            var registry = new EventBusRegistry();
            registry.Add(bus);
            builder.Services.AddSingleton(registry);
            builder.Services.AddGrpcServer().AddEventAdmin();
            var app = builder.Build();
            app.MapGrpcServices();
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new AdminServer(app, GrpcChannel.ForAddress(address));
        }

        public async ValueTask DisposeAsync()
        {
            Channel.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
