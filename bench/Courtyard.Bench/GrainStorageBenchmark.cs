// Grain storage benchmark: `dotnet run -c Release --project bench/Courtyard.Bench -- grain-storage [--seconds 5]
//   [--keys 10000] [--callers 1,16,256] [--providers sqlite,postgres] [--postgres <connection>] [--history 10000]
//   [--appends 300] [--activations 100000]`.
// In one run, through a real Orleans silo in this process on our storage:
//   (1) durable grain writes/s, one WriteStateAsync per call, at 1, 16 and 256 callers over 10,000 keys, SQLite and
//       PostgreSQL, each against the raw one-row-per-transaction insert loop on the same kind of database;
//   (2) one appended event in a JournaledGrain with 10 and with 10,000 events of history (target: ≤ 1.5× apart);
//   (3) memory per idle activation at 100,000 activations: a grain with our persisted state, and a grain without state
//       (Orleans' own share).
// Prints tables and writes bench/results/grain-storage.json. Depends on Courtyard.Storage and Orleans only.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Courtyard.Storage;
using Courtyard.Storage.Postgres;
using Courtyard.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.EventSourcing;
using Orleans.EventSourcing.CustomStorage;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Runtime;

public static class GrainStorageBenchmark
{
    private const string DefaultPostgres = "Host=127.0.0.1;Port=55432;Username=postgres;Password=courtyard;Database=postgres";

    public static async Task<int> RunAsync(string[] args)
    {
        var duration = TimeSpan.FromSeconds(double.Parse(Option(args, "--seconds") ?? "5"));
        var keys = int.Parse(Option(args, "--keys") ?? "10000");
        var callerCounts = (Option(args, "--callers") ?? "1,16,256").Split(',').Select(int.Parse).ToArray();
        var providers = (Option(args, "--providers") ?? "sqlite,postgres").Split(',');
        var postgres = Option(args, "--postgres") ?? Environment.GetEnvironmentVariable("COURTYARD_TEST_POSTGRES") ?? DefaultPostgres;
        var history = int.Parse(Option(args, "--history") ?? "10000");
        var appends = int.Parse(Option(args, "--appends") ?? "300");
        var activations = int.Parse(Option(args, "--activations") ?? "100000");

        var machine = BenchMachine.Describe();
        Console.WriteLine($"Grain storage benchmark on {machine["cpu"]} ({machine["cores"]} cores), {machine["memory"]}, {machine["dotnet"]}, " +
                          $"load average {machine["loadAverageAtStart"]}");

        var writes = new List<Dictionary<string, object>>();
        var journal = new List<Dictionary<string, object>>();
        foreach (var provider in providers)
        {
            foreach (var callers in callerCounts)
            {
                // Alternate grain and raw per caller count, so both see the same moment of this shared machine.
                var grain = await GrainWritesAsync(provider, postgres, callers, keys, duration);
                var raw = await StorageBenchmark.RawInsertLoopAsync(provider, postgres, callers, keys, duration);
                writes.Add(Row(provider, "grain call + durable write", callers, grain));
                writes.Add(Row(provider, "raw insert, 1 row/transaction", callers, raw));
                Console.WriteLine($"{provider,-9} {callers,4} callers: grain {grain.PerSecond,8:0}/s (p50 {grain.P50:0.00} ms, p99 {grain.P99:0.00} ms)   " +
                                  $"raw {raw.PerSecond,8:0}/s (p50 {raw.P50:0.00} ms, p99 {raw.P99:0.00} ms)");
            }
            var (shortHistory, longHistory) = await JournalAppendsAsync(provider, postgres, history, appends);
            journal.Add(new() { ["provider"] = provider, ["history"] = 10, ["p50Ms"] = Math.Round(shortHistory.P50, 3), ["meanMs"] = Math.Round(shortHistory.Mean, 3) });
            journal.Add(new() { ["provider"] = provider, ["history"] = history, ["p50Ms"] = Math.Round(longHistory.P50, 3), ["meanMs"] = Math.Round(longHistory.Mean, 3) });
            Console.WriteLine($"{provider,-9} one appended event: history 10 → p50 {shortHistory.P50:0.000} ms, history {history} → p50 {longHistory.P50:0.000} ms " +
                              $"(×{longHistory.P50 / shortHistory.P50:0.00}; target ≤ 1.5)");
        }
        var memory = await IdleActivationMemoryAsync(activations);
        Console.WriteLine($"memory per idle activation ({activations:N0}): {memory.WithState:0} B with our persisted state, " +
                          $"{memory.WithoutState:0} B for a grain without state (Orleans' own share); target ≤ 4096 B");
        Console.WriteLine($"load average at end {BenchMachine.LoadAverage()}");

        var output = Path.Combine(FindRepositoryRoot(), "bench", "results", "grain-storage.json");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(new
        {
            benchmark = "grain-storage",
            date = DateTimeOffset.UtcNow,
            machine,
            secondsPerCell = duration.TotalSeconds,
            keys,
            durableWrites = writes,
            journalAppend = journal,
            idleActivationMemory = new { activations, bytesWithPersistedState = Math.Round(memory.WithState), bytesOrleansAlone = Math.Round(memory.WithoutState) },
            loadAverageAtEnd = BenchMachine.LoadAverage(),
            targets = new { durableWritesPerSecondAt256Callers = 10_000, journalAppendRatio10kTo10 = 1.5, bytesPerIdleActivation = 4096 },
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static Dictionary<string, object> Row(string provider, string path, int callers, StorageBenchmark.Measurement m) => new()
    {
        ["provider"] = provider, ["path"] = path, ["callers"] = callers, ["writesPerSecond"] = Math.Round(m.PerSecond),
        ["p50Ms"] = Math.Round(m.P50, 2), ["p99Ms"] = Math.Round(m.P99, 2),
    };

    // ---- (1) durable grain writes -----------------------------------------------------------------------------------
    private static async Task<StorageBenchmark.Measurement> GrainWritesAsync(string provider, string postgres, int callers, int keys, TimeSpan duration)
    {
        await using var scratch = await StorageBenchmark.ScratchDatabase.CreateAsync(provider, postgres);
        await using var silo = await BenchSilo.StartAsync(() => OpenAsync(provider, scratch.Target));
        var grains = silo.Grains;
        // Every key activated (its state read) before timing: the figure is writes, not activations.
        await ForEachConcurrentlyAsync(keys, 64, i => grains.GetGrain<IBenchCounterGrain>("k" + i).Get());
        // Each caller owns the keys ≡ its index (mod callers), as the raw loop's writers do.
        return await StorageBenchmark.MeasureAsync(callers, keys, duration, () => key => grains.GetGrain<IBenchCounterGrain>("k" + key).Increment());
    }

    // ---- (2) journal appends at two history lengths -----------------------------------------------------------------
    private static async Task<(Latency Short, Latency Long)> JournalAppendsAsync(string provider, string postgres, int history, int appends)
    {
        await using var scratch = await StorageBenchmark.ScratchDatabase.CreateAsync(provider, postgres);
        await using var silo = await BenchSilo.StartAsync(() => OpenAsync(provider, scratch.Target));
        var small = silo.Grains.GetGrain<IBenchJournalGrain>("history-10");
        var large = silo.Grains.GetGrain<IBenchJournalGrain>("history-long");
        await small.AppendMany(10);
        for (var done = 0; done < history; done += 500) await large.AppendMany(Math.Min(500, history - done));
        // Interleaved, so both grains see the same machine; each call appends one event durably.
        var shortTimes = new List<double>(appends);
        var longTimes = new List<double>(appends);
        for (var i = 0; i < appends; i++)
        {
            shortTimes.Add(await TimeAsync(() => small.Append()));
            longTimes.Add(await TimeAsync(() => large.Append()));
        }
        return (Latency.Of(shortTimes), Latency.Of(longTimes));
    }

    private sealed record Latency(double P50, double Mean)
    {
        public static Latency Of(List<double> times)
        {
            var sorted = times.Order().ToArray();
            return new Latency(sorted[sorted.Length / 2], sorted.Average());
        }
    }

    private static async Task<double> TimeAsync(Func<Task> call)
    {
        var start = Stopwatch.GetTimestamp();
        await call();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    // ---- (3) memory per idle activation -----------------------------------------------------------------------------
    private static async Task<(double WithState, double WithoutState)> IdleActivationMemoryAsync(int count)
    {
        await using var scratch = await StorageBenchmark.ScratchDatabase.CreateAsync("sqlite", "");
        await using var silo = await BenchSilo.StartAsync(() => OpenAsync("sqlite", scratch.Target));
        async Task<double> PerActivationAsync(Func<int, Task> activate)
        {
            await activate(-1);
            var before = GC.GetTotalMemory(forceFullCollection: true);
            await ForEachConcurrentlyAsync(count, 64, activate);
            var after = GC.GetTotalMemory(forceFullCollection: true);
            return (after - before) / (double)count;
        }
        var withoutState = await PerActivationAsync(i => silo.Grains.GetGrain<IBenchIdleGrain>("idle-" + i).Ping());
        var withState = await PerActivationAsync(i => silo.Grains.GetGrain<IBenchCounterGrain>("idle-" + i).Get());
        return (withState, withoutState);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------
    private static async Task<IStorageProvider> OpenAsync(string provider, string target) => provider == "sqlite"
        ? await SqliteStorageProvider.OpenAsync(target)
        : await PostgresStorageProvider.OpenAsync(target);

    private static async Task ForEachConcurrentlyAsync(int count, int concurrency, Func<int, Task> action)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next)) await action(i);
        })));
    }

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Platform.sln"))) return directory.FullName;
        }
        throw new DirectoryNotFoundException("Platform.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>One silo in this process, localhost clustering, our storage "bench" with reminders and journals.</summary>
    private sealed class BenchSilo : IAsyncDisposable
    {
        private readonly IHost host;

        private BenchSilo(IHost host) => this.host = host;

        public IGrainFactory Grains => host.Services.GetRequiredService<IGrainFactory>();

        public static async Task<BenchSilo> StartAsync(Func<Task<IStorageProvider>> open)
        {
            var host = Host.CreateDefaultBuilder()
                .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Error))
                .UseOrleans(silo => silo
                    .UseLocalhostClustering(FreePort(), FreePort(), serviceId: "courtyard-bench", clusterId: "bench-" + Guid.NewGuid().ToString("N")[..8])
                    .AddCourtyardGrainStorage("bench", _ => Task.Run(open).GetAwaiter().GetResult())
                    .AddCourtyardJournal())
                .Build();
            await host.StartAsync();
            return new BenchSilo(host);
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            await ((IAsyncDisposable)host).DisposeAsync();
        }
    }
}

public interface IBenchCounterGrain : IGrainWithStringKey
{
    Task<long> Increment();
    Task<long> Get();
}

[GenerateSerializer]
public sealed class BenchCounterState
{
    [Id(0)] public long Count { get; set; }
}

[GrainType("bench.counter")]
public sealed class BenchCounterGrain([PersistentState("counter", "bench")] IPersistentState<BenchCounterState> state) : Grain, IBenchCounterGrain
{
    public async Task<long> Increment()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task<long> Get() => Task.FromResult(state.State.Count);
}

public interface IBenchIdleGrain : IGrainWithStringKey
{
    Task Ping();
}

[GrainType("bench.idle")]
public sealed class BenchIdleGrain : Grain, IBenchIdleGrain
{
    public Task Ping() => Task.CompletedTask;
}

public interface IBenchJournalGrain : IGrainWithStringKey
{
    Task<int> Append();
    Task<int> AppendMany(int count);
}

[GenerateSerializer]
public sealed class BenchTallyState
{
    [Id(0)] public int Yes { get; set; }
    [Id(1)] public int No { get; set; }
}

[GenerateSerializer]
public sealed class BenchBallotCast
{
    [Id(0)] public bool Yes { get; set; }
}

[GrainType("bench.ballot-box")]
[LogConsistencyProvider(ProviderName = "CustomStorage")]
public sealed class BenchJournalGrain([Journal("bench")] IJournal<BenchTallyState, BenchBallotCast> journal)
    : JournaledGrain<BenchTallyState, BenchBallotCast>, IBenchJournalGrain, ICustomStorageInterface<BenchTallyState, BenchBallotCast>
{
    public async Task<int> Append()
    {
        RaiseEvent(new BenchBallotCast { Yes = Version % 2 == 0 });
        await ConfirmEvents();
        return Version;
    }

    public async Task<int> AppendMany(int count)
    {
        RaiseEvents(Enumerable.Range(0, count).Select(i => new BenchBallotCast { Yes = i % 2 == 0 }));
        await ConfirmEvents();
        return Version;
    }

    protected override void TransitionState(BenchTallyState state, BenchBallotCast @event)
    {
        if (@event.Yes) state.Yes++;
        else state.No++;
    }

    public Task<KeyValuePair<int, BenchTallyState>> ReadStateFromStorage() => journal.ReadAsync(TransitionState);

    public Task<bool> ApplyUpdatesToStorage(IReadOnlyList<BenchBallotCast> updates, int expectedVersion) =>
        journal.AppendAsync(State, updates, expectedVersion);
}
