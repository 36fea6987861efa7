using System.Text.Json;
using Courtyard.Clustering.Tests.Worker;
using Courtyard.Testing;
using Grpc.Net.Client;

namespace Courtyard.Clustering.Tests;

/// <summary>
/// Two processes of the test service "clustertest" (tests/Courtyard.Clustering.Tests.Worker), each hosted with
/// ServiceDefaults, forming one Orleans cluster through a Redis of the test's own, with the service's storage in a
/// fresh PostgreSQL database they share — the distributed mode of every Courtyard service, on one machine.
/// </summary>
public sealed class ClusterOfTwo : IAsyncDisposable
{
    private readonly TestRedis _redis;
    private readonly string _database;
    private readonly string _dataDir;

    private ClusterOfTwo(TestRedis redis, string database, string dataDir, Worker first, Worker second)
    {
        _redis = redis;
        _database = database;
        _dataDir = dataDir;
        First = first;
        Second = second;
    }

    public Worker First { get; }

    public Worker Second { get; }

    public static async Task<ClusterOfTwo> StartAsync()
    {
        var redis = await TestRedis.StartAsync();
        string database = await TestPostgres.CreateDatabaseAsync();
        string dataDir = Path.Combine(Path.GetTempPath(), "courtyard-clustering-tests", Guid.NewGuid().ToString("N"));
        Worker? first = null;
        Worker? second = null;
        try
        {
            string clusterId = "test-" + Guid.NewGuid().ToString("N")[..8];
            first = Worker.Start("first", redis, database, clusterId, Path.Combine(dataDir, "first"));
            second = Worker.Start("second", redis, database, clusterId, Path.Combine(dataDir, "second"));
            await Task.WhenAll(first.WaitUntilServingAsync(), second.WaitUntilServingAsync());
            // Both silos joined, and each knows the other: only then does a key have one place in the cluster.
            await Eventually.HoldsAsync(async () =>
                (await first.Counter.MembersAsync(new MembersRequest())).ActiveSilos.Count == 2
                && (await second.Counter.MembersAsync(new MembersRequest())).ActiveSilos.Count == 2,
                TimeSpan.FromSeconds(60), "both silos see two active members");
            return new ClusterOfTwo(redis, database, dataDir, first, second);
        }
        catch
        {
            if (first is not null)
            {
                await first.DisposeAsync();
            }
            if (second is not null)
            {
                await second.DisposeAsync();
            }
            await TestPostgres.DropDatabaseAsync(database);
            await redis.DisposeAsync();
            throw;
        }
    }

    /// <summary>The worker whose silo is <paramref name="silo"/> (host:port, as an IncrementReply names it).</summary>
    public Worker Holding(string silo) => First.Silo == silo ? First : Second.Silo == silo ? Second
        : throw new InvalidOperationException($"no worker has silo {silo} (first {First.Silo}, second {Second.Silo})");

    public Worker Other(Worker worker) => worker == First ? Second : First;

    public async ValueTask DisposeAsync()
    {
        await First.DisposeAsync();
        await Second.DisposeAsync();
        await TestPostgres.DropDatabaseAsync(_database);
        await _redis.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    public sealed class Worker : IAsyncDisposable
    {
        private readonly ChildProcess _process;
        private GrpcChannel? _channel;

        private Worker(string name, ChildProcess process)
        {
            Name = name;
            _process = process;
        }

        public string Name { get; }

        public string Silo { get; private set; } = "";

        /// <summary>Whether its grain storage keeps state across processes (false while Orleans' in-memory storage stands in).</summary>
        public bool Durable { get; private set; }

        public Counter.CounterClient Counter { get; private set; } = null!;

        public static Worker Start(string name, TestRedis redis, string database, string clusterId, string dataDir) => new(name,
            ChildProcess.StartTestWorker("Courtyard.Clustering.Tests.Worker", [], new Dictionary<string, string?>
            {
                ["Courtyard__GrpcPort"] = "0",
                ["Courtyard__HttpPort"] = "0",
                ["Courtyard__DataDir"] = dataDir,
                ["Courtyard__Orleans__Clustering"] = "redis",
                ["Courtyard__Orleans__RedisConnectionString"] = redis.ConnectionString,
                ["Courtyard__Orleans__ClusterId"] = clusterId,
                ["Courtyard__Storage__Provider"] = "postgres",
                ["ConnectionStrings__clustertest"] = database,
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
            }));

        public async Task WaitUntilServingAsync()
        {
            var ready = await _process.WaitForJsonLineAsync(line => line.TryGetProperty("grpc", out _), TimeSpan.FromSeconds(90));
            Silo = ready.GetProperty("silo").GetString()!;
            Durable = ready.GetProperty("durable").GetBoolean();
            _channel = GrpcChannel.ForAddress(ready.GetProperty("grpc").GetString()!);
            Counter = new Counter.CounterClient(_channel);
        }

        /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
        public Task KillAsync() => _process.KillAsync();

        public override string ToString() => $"{Name} (silo {Silo})";

        public async ValueTask DisposeAsync()
        {
            _channel?.Dispose();
            await _process.DisposeAsync();
        }
    }
}
