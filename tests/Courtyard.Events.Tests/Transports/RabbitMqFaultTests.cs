using System.Collections.Concurrent;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Testing;
using Courtyard.Events.Transports;
using Courtyard.Storage;

namespace Courtyard.Events.Tests;

/// <summary>
/// Crashes and outages against the real local RabbitMQ, with worker processes (tests/Courtyard.Events.Tests.Worker)
/// that the tests start and kill. Storage is SQLite in temp folders.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public class RabbitMqFaultTests(TestRabbitMq broker)
{
    private const string Worker = "Courtyard.Events.Tests.Worker";
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    /// <summary>A consumer service in this process: counts handler runs per event id and applies a counted effect once.</summary>
    private sealed class CountingConsumer : IAsyncDisposable
    {
        private readonly TempDatabase database = new("consumer");
        public ConcurrentDictionary<string, int> RunsById { get; } = new();
        public EventBus Bus { get; private set; } = null!;
        public IStorageProvider Storage => Bus.Storage;

        public static async Task<CountingConsumer> StartAsync(string url, string exchange)
        {
            var consumer = new CountingConsumer();
            var transport = new RabbitMqTransport(new RabbitMqTransportOptions { Url = url, Exchange = exchange });
            consumer.Bus = new EventBus(new EventBusOptions { Source = "rules", RelayEnabled = false }, await consumer.database.OpenAsync(), transport)
                ;
            consumer.Bus.Handle<ThingHappened>("rules", async (thing, context) =>
            {
                await TestEvents.ApplyEffectAsync(consumer.Bus.Storage, thing.ThingId, context.TakeMark());
                consumer.RunsById.AddOrUpdate(context.Event.Id, 1, (_, n) => n + 1);
            });
            await consumer.Bus.StartAsync();
            return consumer;
        }

        public async ValueTask DisposeAsync()
        {
            await Bus.StopAsync();
            await Bus.Transport.DisposeAsync();
            await database.DisposeAsync();
        }
    }

    private string[] WorkerArguments(string mode, string database, string exchange, params string[] more) =>
        [mode, "--db", database, "--rabbit", broker.Url, "--exchange", exchange, .. more];

    [Fact]
    public async Task A_process_killed_between_commit_and_publish_has_its_events_published_after_restart_each_once()
    {
        var exchange = TestRabbitMq.UniqueName("crash-publish");
        await using var producerDatabase = new TempDatabase("producer");
        await using (var consumer = await CountingConsumer.StartAsync(broker.Url, exchange))
        {
            // 1. Commits with the relay off, then dies: the events exist only as outbox rows.
            await using (var producer = ChildProcess.StartTestWorker(Worker, WorkerArguments("produce", producerDatabase.Path, exchange, "--count", "300", "--courtyards", "6", "--relay", "off")))
            {
                await producer.WaitForLineAsync("committed 300", Within);
                await producer.KillAsync();
            }
            var outbox = await producerDatabase.OpenAsync();
            var rows = await outbox.Outbox.ReadUnsentAsync(1000);
            Assert.Equal(300, rows.Count);
            Assert.Empty(consumer.RunsById);

            // 2. Commits more with the relay on and dies mid-publish: some rows went out, maybe unmarked.
            await using (var producer = ChildProcess.StartTestWorker(Worker, WorkerArguments("produce", producerDatabase.Path, exchange, "--count", "300", "--courtyards", "6", "--relay", "on")))
            {
                await producer.WaitForLineAsync("committed 300", Within);
                await producer.KillAsync();
            }

            // 3. The restarted process publishes the rest.
            await using (var relay = ChildProcess.StartTestWorker(Worker, WorkerArguments("relay", producerDatabase.Path, exchange)))
            {
                await relay.WaitForLineAsync("drained", Within);
                await Eventually.HoldsAsync(() => consumer.RunsById.Count == 600, Within, $"600 events handled (have {consumer.RunsById.Count})");
            }

            Assert.Empty(await outbox.Outbox.ReadUnsentAsync(1));
            Assert.Subset(consumer.RunsById.Keys.ToHashSet(), rows.Select(r => $"producer-{r.Id}").ToHashSet());
            Assert.All(consumer.RunsById, pair => Assert.Equal(1, pair.Value));
            for (var i = 0; i < 300; i++)
            {
                Assert.Equal(2, await TestEvents.ReadEffectCountAsync(consumer.Storage, $"courtyard-{i % 6}/{i}"));   // once per producer run
            }
        }
        await broker.DeleteAsync(exchange, RabbitMqTransport.QueueName(exchange, "rules", TestEvents.Topic));
    }

    [Fact]
    public async Task A_consumer_killed_after_its_effect_but_before_its_ack_gets_the_event_again_and_applies_it_once()
    {
        var exchange = TestRabbitMq.UniqueName("crash-ack");
        var queue = RabbitMqTransport.QueueName(exchange, "worker", TestEvents.Topic);
        await using var producerDatabase = new TempDatabase("producer");
        await using var consumerDatabase = new TempDatabase("consumer");
        await using var producer = new EventBus(new EventBusOptions { Source = "councils" }, await producerDatabase.OpenAsync(),
            new RabbitMqTransport(new RabbitMqTransportOptions { Url = broker.Url, Exchange = exchange }));
        await producer.StartAsync();

        await using (var doomed = ChildProcess.StartTestWorker(Worker, WorkerArguments("consume", consumerDatabase.Path, exchange, "--consumer", "worker"),
                         new Dictionary<string, string?> { ["COURTYARD_TEST_KILL_BEFORE_ACK"] = "1" }))
        {
            await doomed.WaitForLineAsync("ready", Within);
            await producer.CommitThingAsync("courtyard-1", 7, 0);
            var killed = await doomed.WaitForLineAsync("killing-before-ack", Within);
            await doomed.WaitForExitAsync(Within);
            Assert.EndsWith(" councils-1", killed);
        }
        await Eventually.HoldsAsync(async () => await broker.CountMessagesAsync(queue) == 1, Within, "the unacked event is back in its queue");

        await using (var restarted = ChildProcess.StartTestWorker(Worker, WorkerArguments("consume", consumerDatabase.Path, exchange, "--consumer", "worker")))
        {
            await restarted.WaitForLineAsync("ready", Within);
            await restarted.WaitForLineAsync("duplicate", Within);   // redelivered, answered from the inbox
            Assert.Contains("redelivery", restarted.Lines);
            Assert.DoesNotContain(restarted.Lines, line => line.StartsWith("handled", StringComparison.Ordinal));
            await Eventually.HoldsAsync(async () => await broker.CountMessagesAsync(queue) == 0, Within, "the redelivery acked");
        }
        var consumerStorage = await consumerDatabase.OpenAsync();
        Assert.Equal(1, await TestEvents.ReadEffectCountAsync(consumerStorage, "courtyard-1/7"));
        await producer.StopAsync();
        await broker.DeleteAsync(exchange, queue);
    }

    [Fact]
    public async Task A_service_that_starts_while_the_broker_is_down_subscribes_and_publishes_once_it_is_back()
    {
        var exchange = TestRabbitMq.UniqueName("start-down");
        await using var producerDatabase = new TempDatabase("producer");
        // Deployed before: its durable queue exists on the broker (a brand-new consumer's queue appears when it first connects).
        await (await CountingConsumer.StartAsync(broker.Url, exchange)).DisposeAsync();

        CountingConsumer consumer;
        EventBus producer;
        await TestRabbitMq.StopBrokerAsync();
        try
        {
            consumer = await CountingConsumer.StartAsync(broker.Url, exchange).WaitAsync(TimeSpan.FromSeconds(20));   // starts anyway
            producer = new EventBus(new EventBusOptions { Source = "councils", PublishBackoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)) },
                await producerDatabase.OpenAsync(), new RabbitMqTransport(new RabbitMqTransportOptions { Url = broker.Url, Exchange = exchange }));
            await producer.StartAsync().WaitAsync(TimeSpan.FromSeconds(20));
            long version = 0;
            for (var i = 0; i < 20; i++)
            {
                version = await producer.CommitThingAsync("courtyard-1", i, version);
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Empty(consumer.RunsById);
        }
        finally
        {
            await TestRabbitMq.StartBrokerAsync();
        }
        await using (consumer)
        {
            await Eventually.HoldsAsync(() => consumer.RunsById.Count == 20, Within, $"all 20 events handled once the broker is back (have {consumer.RunsById.Count})");
            await Eventually.HoldsAsync(async () => (await producer.Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "outbox drained");
            await producer.StopAsync();
            await producer.Transport.DisposeAsync();
        }
        await broker.DeleteAsync(exchange, RabbitMqTransport.QueueName(exchange, "rules", TestEvents.Topic));
    }

    [Fact]
    public async Task Nothing_is_lost_while_the_broker_is_down_for_30_seconds_and_the_backlog_drains_when_it_returns()
    {
        var exchange = TestRabbitMq.UniqueName("outage");
        await using var producerDatabase = new TempDatabase("producer");
        await using var consumer = await CountingConsumer.StartAsync(broker.Url, exchange);
        await using var producer = new EventBus(new EventBusOptions
            {
                Source = "councils",
                PublishBackoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(3)),
            }, await producerDatabase.OpenAsync(),
            new RabbitMqTransport(new RabbitMqTransportOptions { Url = broker.Url, Exchange = exchange, ConfirmTimeout = TimeSpan.FromSeconds(5) }));
        await producer.StartAsync();

        using var stopProducing = new CancellationTokenSource();
        var produced = 0;
        var producing = Task.Run(async () =>
        {
            var versions = new long[5];
            while (!stopProducing.IsCancellationRequested)
            {
                var p = produced % 5;
                versions[p] = await producer.CommitThingAsync($"courtyard-{p}", produced, versions[p]);
                produced++;
                await Task.Delay(25);
            }
        });

        try
        {
            await Eventually.HoldsAsync(() => consumer.RunsById.Count >= 50, Within, "events flow before the outage");
            await TestRabbitMq.StopBrokerAsync();
            var producedAtStop = produced;
            await Task.Delay(TimeSpan.FromSeconds(30));   // the outage itself, with events still being committed
            var backlog = (await producer.Storage.Outbox.GetStatsAsync()).Unsent;
            Assert.True(produced - producedAtStop > 500, $"events kept being committed during the outage ({produced - producedAtStop})");
            Assert.True(backlog > 500, $"the outbox held the backlog during the outage ({backlog})");
        }
        finally
        {
            await TestRabbitMq.StartBrokerAsync();
        }
        await Task.Delay(TimeSpan.FromSeconds(2));
        await stopProducing.CancelAsync();
        await producing;

        await Eventually.HoldsAsync(() => consumer.RunsById.Count == produced, TimeSpan.FromSeconds(90), $"all {produced} events handled after the broker returned (have {consumer.RunsById.Count})");
        await Eventually.HoldsAsync(async () => (await producer.Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "outbox drained");
        for (var i = 0; i < produced; i++)
        {
            Assert.Equal(1, await TestEvents.ReadEffectCountAsync(consumer.Storage, $"courtyard-{i % 5}/{i}"));
        }
        await producer.StopAsync();
        await broker.DeleteAsync(exchange, RabbitMqTransport.QueueName(exchange, "rules", TestEvents.Topic));
    }
}
