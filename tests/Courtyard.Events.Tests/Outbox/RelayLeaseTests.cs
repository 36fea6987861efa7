using System.Collections.Concurrent;
using System.Diagnostics;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Events.Transports;
using Courtyard.Storage;
using Courtyard.Storage.Postgres;
using Courtyard.Testing;

namespace Courtyard.Events.Tests;

/// <summary>Two replicas of one service over one database: only the holder of the relay lease publishes.</summary>
public class RelayLeaseTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    /// <summary>One service database, opened as many times as there are replicas.</summary>
    private sealed class SharedDatabase : IAsyncDisposable
    {
        private readonly TempDatabase? sqlite;
        private readonly string? postgres;
        private readonly List<IStorageProvider> opened = [];

        private SharedDatabase(TempDatabase? sqlite, string? postgres) => (this.sqlite, this.postgres) = (sqlite, postgres);

        public static async Task<SharedDatabase> CreateAsync(string provider) => provider == "sqlite"
            ? new SharedDatabase(new TempDatabase("councils"), null)
            : new SharedDatabase(null, await TestPostgres.CreateDatabaseAsync());

        public async Task<IStorageProvider> OpenReplicaAsync()
        {
            if (sqlite is not null)
            {
                return await sqlite.OpenAsync();
            }
            var provider = await PostgresStorageProvider.OpenAsync(postgres!);
            opened.Add(provider);
            return provider;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var provider in opened)
            {
                await provider.DisposeAsync();
            }
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

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Two_replicas_over_one_database_publish_every_event_once_in_order_and_the_second_takes_over_when_the_first_stops(string provider)
    {
        await using var database = await SharedDatabase.CreateAsync(provider);
        await using var consumerDatabase = new TempDatabase("rules");
        await using var inProcess = new InProcessTransport();
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<long>>();
        await using var consumer = new EventBus(new EventBusOptions { Source = "rules", RelayEnabled = false }, await consumerDatabase.OpenAsync(), inProcess)
            ;
        consumer.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, context) =>
        {
            seen.GetOrAdd(context.CourtyardId, _ => new()).Enqueue(thing.Sequence);
            return Task.CompletedTask;
        });
        await consumer.StartAsync();

        var transports = new[] { new RecordingTransport(inProcess), new RecordingTransport(inProcess) };
        var replicas = new EventBus[2];
        for (var r = 0; r < 2; r++)
        {
            replicas[r] = new EventBus(new EventBusOptions
            {
                Source = "councils",
                RelayPollInterval = TimeSpan.FromMilliseconds(100),
                RelayLeaseDuration = TimeSpan.FromSeconds(3),
            }, await database.OpenReplicaAsync(), transports[r]);
            await replicas[r].StartAsync();
        }
        try
        {
            await Eventually.HoldsAsync(() => replicas.Count(r => r.Relay.HoldsLease) == 1, Within, "one replica holds the relay lease");
            var holder = replicas[0].Relay.HoldsLease ? 0 : 1;
            var standby = 1 - holder;
            var standbyEverHeld = false;
            using var watching = new CancellationTokenSource();
            var watch = Task.Run(async () =>
            {
                while (!watching.IsCancellationRequested)
                {
                    standbyEverHeld |= replicas[standby].Relay.HoldsLease;
                    await Task.Delay(5);
                }
            });

            // Both replicas commit (each courtyard from one of them); only the holder relays.
            await CommitAsync(replicas, courtyards: 6, from: 0, count: 40, replicaOf: c => c % 2);
            await Eventually.HoldsAsync(() => seen.Values.Sum(q => q.Count) == 240, Within, "240 events handled");
            await Eventually.HoldsAsync(async () => (await replicas[holder].Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "outbox drained");
            await watching.CancelAsync();
            await watch;

            Assert.False(standbyEverHeld, "the standby replica held the lease while the holder was alive");
            Assert.Equal(0, transports[standby].AcceptedCount);
            Assert.Equal(240, transports[holder].AcceptedById.Count);
            Assert.All(transports[holder].AcceptedById.Values, count => Assert.Equal(1, count));
            var lease = await replicas[standby].Storage.Outbox.ReadRelayLeaseAsync(replicas[holder].Relay.LeaseName);
            Assert.Equal(replicas[holder].Relay.LeaseHolder, lease!.Holder);

            // The holder stops (a rolling update): it releases the lease, the other replica takes over at once.
            var stopped = Stopwatch.StartNew();
            await replicas[holder].StopAsync();
            await Eventually.HoldsAsync(() => replicas[standby].Relay.HoldsLease, TimeSpan.FromSeconds(10), "the standby takes over");
            Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(3), $"took {stopped.Elapsed.TotalSeconds:0.0} s to take over a released lease (lease: 3 s)");

            await CommitAsync(replicas, courtyards: 6, from: 40, count: 20, replicaOf: _ => standby);
            await Eventually.HoldsAsync(() => seen.Values.Sum(q => q.Count) == 360, Within, "360 events handled");
            await Eventually.HoldsAsync(async () => (await replicas[standby].Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "outbox drained");

            Assert.Equal(120, transports[standby].AcceptedById.Count);
            Assert.Empty(transports[standby].AcceptedById.Keys.Intersect(transports[holder].AcceptedById.Keys));
            Assert.All(transports[standby].AcceptedById.Values, count => Assert.Equal(1, count));
            for (var c = 0; c < 6; c++)
            {
                Assert.Equal(Enumerable.Range(0, 60).Select(s => (long)s), seen[$"courtyard-{c}"]);
            }
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.StopAsync();
            }
        }
    }

    private static async Task CommitAsync(EventBus[] replicas, int courtyards, int from, int count, Func<int, int> replicaOf) =>
        await Task.WhenAll(Enumerable.Range(0, courtyards).Select(c => Task.Run(async () =>
        {
            var replica = replicas[replicaOf(c)];
            var version = (await replica.Storage.State.ReadAsync("producer", $"courtyard-{c}"))?.Version ?? 0;
            for (var s = from; s < from + count; s++)
            {
                version = await replica.CommitThingAsync($"courtyard-{c}", s, version);
            }
        })));
}

/// <summary>A relay process killed while holding the lease: the replica in this process takes over once the lease expires.</summary>
[Collection(RabbitMqCollection.Name)]
public class RelayLeaseTakeoverTests(TestRabbitMq broker)
{
    private const string Worker = "Courtyard.Events.Tests.Worker";
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task When_the_relay_holding_the_lease_is_killed_the_standby_takes_over_within_one_lease_period()
    {
        var exchange = TestRabbitMq.UniqueName("lease-takeover");
        await using var producerDatabase = new TempDatabase("producer");
        await using var consumerDatabase = new TempDatabase("consumer");
        var handled = new ConcurrentDictionary<string, int>();
        await using var consumer = new EventBus(new EventBusOptions { Source = "rules", RelayEnabled = false }, await consumerDatabase.OpenAsync(),
            new RabbitMqTransport(new RabbitMqTransportOptions { Url = broker.Url, Exchange = exchange }));
        consumer.Handle<ThingHappened>("rules", async (thing, context) =>
        {
            await TestEvents.ApplyEffectAsync(consumer.Storage, thing.ThingId, context.TakeMark());
            handled.AddOrUpdate(thing.ThingId, 1, (_, n) => n + 1);
        });
        await consumer.StartAsync();
        var storage = await producerDatabase.OpenAsync();   // creates the schema before the worker opens the file

        var worker = ChildProcess.StartTestWorker(Worker, ["relay", "--db", producerDatabase.Path, "--rabbit", broker.Url, "--exchange", exchange,
            "--lease-s", Lease.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--poll-ms", "100"]);
        await using var standbyTransport = new RecordingTransport(new RabbitMqTransport(new RabbitMqTransportOptions { Url = broker.Url, Exchange = exchange }), ownsInner: true);
        await using var standby = new EventBus(new EventBusOptions
        {
            Source = "producer",
            RelayLeaseDuration = Lease,
            RelayPollInterval = TimeSpan.FromMilliseconds(100),
        }, storage, standbyTransport);
        try
        {
            await worker.WaitForLineAsync("holding", Within);
            await standby.StartAsync();

            var versions = new long[4];
            for (var i = 0; i < 100; i++)
            {
                versions[i % 4] = await standby.CommitThingAsync($"courtyard-{i % 4}", i, versions[i % 4]);
            }
            await Eventually.HoldsAsync(() => handled.Count == 100, Within, $"the worker relayed the first 100 events (handled {handled.Count})");
            Assert.False(standby.Relay.HoldsLease);
            Assert.Equal(0, standbyTransport.AcceptedCount);

            await worker.KillAsync();
            var killed = Stopwatch.StartNew();
            await Eventually.HoldsAsync(() => standby.Relay.HoldsLease, Within, "the standby takes the lease over");
            var takeover = killed.Elapsed;
            // The lease expires at most one period after the worker's last renewal; allow for a loaded machine.
            Assert.True(takeover < Lease + TimeSpan.FromSeconds(2), $"took over after {takeover.TotalSeconds:0.0} s (lease {Lease.TotalSeconds} s)");

            for (var i = 100; i < 200; i++)
            {
                versions[i % 4] = await standby.CommitThingAsync($"courtyard-{i % 4}", i, versions[i % 4]);
            }
            await Eventually.HoldsAsync(() => handled.Count == 200, Within, $"the standby relayed the next 100 (handled {handled.Count})");
            Assert.True(standbyTransport.AcceptedCount >= 100);
            for (var i = 0; i < 200; i++)
            {
                Assert.Equal(1, await TestEvents.ReadEffectCountAsync(consumer.Storage, $"courtyard-{i % 4}/{i}"));
            }
        }
        finally
        {
            await worker.DisposeAsync();
            await standby.StopAsync();
            await consumer.StopAsync();
            await consumer.Transport.DisposeAsync();
            await broker.DeleteAsync(exchange, RabbitMqTransport.QueueName(exchange, "rules", TestEvents.Topic));
        }
    }
}
