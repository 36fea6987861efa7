// Grains benchmark: `dotnet run -c Release --project bench/Courtyard.Bench -- grains [--seconds 5] [--keys 10000]
//   [--activations 100000] [--postgres <connection>] [--no-postgres]`.
// In one run: (1) per-call overhead of the runtime; (2) grain calls/s with one durable write per call on SQLite and
// PostgreSQL at 1, 16 and 256 concurrent callers over 10,000 keys, against a raw one-row-per-transaction insert loop
// on the same database; (3) memory per idle activation. Prints a table and writes bench/results/grains.json.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Courtyard.Grains;
using Courtyard.Testing;
using Courtyard.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

public static class GrainsBenchmark
{
    private static readonly int[] CallerCounts = [1, 16, 256];

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = double.Parse(Option(args, "--seconds") ?? "5");
        var keys = int.Parse(Option(args, "--keys") ?? "10000");
        var activations = int.Parse(Option(args, "--activations") ?? "100000");
        var skipPostgres = args.Contains("--no-postgres");
        var duration = TimeSpan.FromSeconds(seconds);

        var machine = BenchMachine.Describe();
        Console.WriteLine($"Grains benchmark on {machine["cpu"]} ({machine["cores"]} cores), {machine["memory"]}, {machine["os"]}, {machine["dotnet"]}");

        var overhead = await MeasureCallOverheadAsync();
        Console.WriteLine($"call overhead (no storage, one caller): {overhead.ReusedProxyNs:F0} ns/call ({overhead.BytesPerCall} B), " +
                          $"{overhead.FreshProxyNs:F0} ns/call with a fresh proxy per call");

        var rows = new List<ThroughputRow>();
        var dbFile = Path.Combine(Path.GetTempPath(), $"courtyard-grains-bench-{Guid.NewGuid():N}.db");
        try
        {
            await using var sqlite = await BenchStorage.OpenSqliteAsync(dbFile);
            await using var raw = await RawSqlite.OpenAsync(dbFile);
            rows.AddRange(await MeasureWritesAsync("SQLite", sqlite, raw.InsertAsync, keys, duration));
        }
        finally
        {
            foreach (var path in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(dbFile) + "*")) File.Delete(path);
        }

        if (!skipPostgres)
        {
            var admin = Option(args, "--postgres") ?? Environment.GetEnvironmentVariable("COURTYARD_TEST_POSTGRES") ?? await StartPostgresAsync();
            var database = await BenchStorage.CreatePostgresDatabaseAsync(admin);
            try
            {
                await using var postgres = await BenchStorage.OpenPostgresAsync(database);
                await using var raw = await RawPostgres.OpenAsync(database);
                rows.AddRange(await MeasureWritesAsync("PostgreSQL", postgres, raw.InsertAsync, keys, duration));
            }
            finally
            {
                await BenchStorage.DropPostgresDatabaseAsync(admin, database);
            }
        }

        var memory = await MeasureIdleActivationMemoryAsync(activations);

        Console.WriteLine();
        Console.WriteLine($"{"database",-11} {"path",-34} {"callers",7} {"writes/s",10} {"p50 ms",8} {"p99 ms",8}");
        foreach (var row in rows)
            Console.WriteLine($"{row.Database,-11} {row.Path,-34} {row.Callers,7} {row.PerSecond,10:F0} {row.P50Ms,8:F2} {row.P99Ms,8:F2}");
        Console.WriteLine();
        Console.WriteLine($"memory per idle small activation ({memory.Activations:N0} activations): {memory.BytesPerActivation:F0} B");
        Console.WriteLine($"load average at start {machine["loadAverageAtStart"]}, at end {BenchMachine.LoadAverage()} (on {machine["cores"]} cores)");

        var results = new
        {
            benchmark = "grains",
            date = DateTimeOffset.UtcNow,
            machine,
            secondsPerCell = seconds,
            keys,
            callOverhead = overhead,
            durableWrites = rows,
            idleActivationMemory = memory,
            loadAverageAtEnd = BenchMachine.LoadAverage(),
            targets = new { durableWritesPerSecondAt256Callers = 10_000, bytesPerIdleActivation = 4096 },
        };
        var output = Path.Combine(RepositoryRoot.Path, "bench", "results", "grains.json");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(results, new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }));
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    public sealed record CallOverhead(double ReusedProxyNs, double FreshProxyNs, long BytesPerCall);

    public sealed record ThroughputRow(string Database, string Path, int Callers, long Operations, double Seconds, double PerSecond, double P50Ms, double P99Ms);

    public sealed record ActivationMemory(int Activations, long BytesBefore, long BytesAfter, double BytesPerActivation);

    // ---- (1) per-call overhead: a no-op grain method, no storage ------------------------------------------------
    private static async Task<CallOverhead> MeasureCallOverheadAsync()
    {
        await using var provider = BuildRuntime(new NullStateStore());
        var grains = provider.GetRequiredService<IGrainFactory>();
        var grain = grains.GetGrain<IBenchGrain>("overhead");
        for (var i = 0; i < 200_000; i++) await grain.Ping();
        // Best of three rounds: the machine is shared, the minimum is the runtime's own cost.
        const int calls = 1_000_000;
        double reused = double.MaxValue, fresh = double.MaxValue;
        long bytes = 0;
        for (var round = 0; round < 3; round++)
        {
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < calls; i++) await grain.Ping();
            reused = Math.Min(reused, clock.Elapsed.TotalNanoseconds / calls);
            bytes = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / calls;
            clock.Restart();
            for (var i = 0; i < calls; i++) await grains.GetGrain<IBenchGrain>("overhead").Ping();
            fresh = Math.Min(fresh, clock.Elapsed.TotalNanoseconds / calls);
        }
        return new CallOverhead(Math.Round(reused, 1), Math.Round(fresh, 1), bytes);
    }

    // ---- (2) durable writes: grains vs. the plain driver, alternating per caller count so both see the same machine --
    private static async Task<List<ThroughputRow>> MeasureWritesAsync(string database, IStorageProvider storage,
        Func<Random, Task> rawInsert, int keys, TimeSpan duration)
    {
        await using var provider = BuildRuntime(storage.State);
        var grains = provider.GetRequiredService<IGrainFactory>();
        // Activate (load) every key first so the timed loop measures writes, not first-call reads.
        await ForEachConcurrentlyAsync(keys, 64, i => grains.GetGrain<IBenchGrain>(Key(i)).Get());
        var rows = new List<ThroughputRow>();
        foreach (var callers in CallerCounts)
        {
            var grainRow = await RunLoopAsync(database, "grain call + durable write", callers, duration,
                random => grains.GetGrain<IBenchGrain>(Key(random.Next(keys))).Increment());
            var rawRow = await RunLoopAsync(database, "raw insert, 1 row/transaction", callers, duration, rawInsert);
            foreach (var row in new[] { grainRow, rawRow })
            {
                Console.WriteLine($"  {row.Database} {row.Path} x{row.Callers}: {row.PerSecond:F0}/s");
                rows.Add(row);
            }
        }
        return rows;
    }

    /// <summary>
    /// The SQLite baseline: WAL + synchronous=FULL, one INSERT per transaction. SQLite has one writer at a time, so one
    /// connection serialized by a lock is the fastest honest loop (more connections only busy-wait on the file lock).
    /// </summary>
    private sealed class RawSqlite : IAsyncDisposable
    {
        private static readonly byte[] Payload = System.Text.Encoding.UTF8.GetBytes("{\"Count\":12345}");
        private readonly SqliteConnection connection;
        private readonly SemaphoreSlim gate = new(1, 1);

        private RawSqlite(SqliteConnection connection) => this.connection = connection;

        public static async Task<RawSqlite> OpenAsync(string file)
        {
            var connection = new SqliteConnection($"Data Source={file};Pooling=False;Default Timeout=30");
            await connection.OpenAsync();
            await using var setup = connection.CreateCommand();
            setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;" +
                                "CREATE TABLE IF NOT EXISTS raw_writes (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB NOT NULL);";
            await setup.ExecuteNonQueryAsync();
            return new RawSqlite(connection);
        }

        public async Task InsertAsync(Random random)
        {
            await gate.WaitAsync();
            try
            {
                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
                await using var insert = connection.CreateCommand();
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO raw_writes (k, v) VALUES ($k, $v)";
                insert.Parameters.AddWithValue("$k", Key(random.Next(10_000)));
                insert.Parameters.AddWithValue("$v", Payload);
                await insert.ExecuteNonQueryAsync();
                await transaction.CommitAsync();
            }
            finally
            {
                gate.Release();
            }
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }

    /// <summary>The PostgreSQL baseline: one INSERT per transaction (autocommit, fsync on), up to 100 pooled connections.</summary>
    private sealed class RawPostgres(NpgsqlDataSource dataSource) : IAsyncDisposable
    {
        private static readonly byte[] Payload = System.Text.Encoding.UTF8.GetBytes("{\"Count\":12345}");

        public static async Task<RawPostgres> OpenAsync(string connectionString)
        {
            // One pooled connection per caller, capped at 100 (the shared server allows 300).
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 100 };
            var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
            await using var create = dataSource.CreateCommand("CREATE TABLE IF NOT EXISTS raw_writes (id bigserial PRIMARY KEY, k text NOT NULL, v bytea NOT NULL)");
            await create.ExecuteNonQueryAsync();
            return new RawPostgres(dataSource);
        }

        public async Task InsertAsync(Random random)
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO raw_writes (k, v) VALUES ($1, $2)", connection);
            insert.Parameters.AddWithValue(Key(random.Next(10_000)));
            insert.Parameters.AddWithValue(Payload);
            await insert.ExecuteNonQueryAsync();
        }

        public ValueTask DisposeAsync() => dataSource.DisposeAsync();
    }

    // ---- (3) memory per idle activation -------------------------------------------------------------------------
    private static async Task<ActivationMemory> MeasureIdleActivationMemoryAsync(int count)
    {
        await using var provider = BuildRuntime(new NullStateStore());
        var grains = provider.GetRequiredService<IGrainFactory>();
        var runtime = provider.GetRequiredService<GrainRuntime>();
        await grains.GetGrain<IBenchGrain>("warm-up").Get();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        await ForEachConcurrentlyAsync(count, 64, i => grains.GetGrain<IBenchGrain>($"idle-{i}").Get());
        var after = GC.GetTotalMemory(forceFullCollection: true);
        if (runtime.ActivationCount != count + 1) throw new InvalidOperationException($"expected {count + 1} activations, found {runtime.ActivationCount}");
        return new ActivationMemory(count, before, after, Math.Round((after - before) / (double)count, 1));
    }

    // ---- helpers ------------------------------------------------------------------------------------------------
    private static async Task<ThroughputRow> RunLoopAsync(string database, string path, int callers, TimeSpan duration, Func<Random, Task> operation)
    {
        // A short warm-up, then each caller loops until the deadline; latencies are sampled per operation.
        var warmUp = DateTime.UtcNow + TimeSpan.FromSeconds(1);
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var random = new Random(c);
            while (DateTime.UtcNow < warmUp) await operation(random);
        })));
        var clock = Stopwatch.StartNew();
        var latencies = new List<double>[callers];
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var random = new Random(1000 + c);
            var mine = latencies[c] = new List<double>(4096);
            while (clock.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                await operation(random);
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new ThroughputRow(database, path, callers, all.Length, Math.Round(elapsed, 2), Math.Round(all.Length / elapsed, 0),
            Math.Round(Percentile(all, 0.50), 3), Math.Round(Percentile(all, 0.99), 3));
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private static async Task ForEachConcurrentlyAsync(int count, int concurrency, Func<int, Task> action)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count) await action(i);
        })));
    }

    private static string Key(int i) => $"courtyard-{i:D5}";

    private static ServiceProvider BuildRuntime(IStateStore store)
    {
        var services = new ServiceCollection();
        services.AddSingleton(store);
        services.AddGrains(g => g.Add<IBenchGrain, BenchGrain>());
        return services.BuildServiceProvider();
    }

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static async Task<string> StartPostgresAsync()
    {
        var script = Path.Combine(RepositoryRoot.Path, "scripts", "postgres.sh");
        using var process = Process.Start(new ProcessStartInfo("bash", [script, "start"]) { RedirectStandardOutput = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException("scripts/postgres.sh start failed");
        return output.Trim().Split('\n').Last().Trim();
    }


    public interface IBenchGrain : IGrainWithStringKey
    {
        Task Ping();
        [ReadOnly] Task<long> Get();
        Task<long> Increment();
    }

    public sealed class BenchState
    {
        public long Count { get; set; }
    }

    public sealed class BenchGrain(IPersistentState<BenchState> state) : Grain, IBenchGrain
    {
        public Task Ping() => Task.CompletedTask;
        public Task<long> Get() => Task.FromResult(state.State.Count);

        public async Task<long> Increment()
        {
            state.State.Count++;
            await state.WriteStateAsync();
            return state.State.Count;
        }
    }

    /// <summary>No rows, every write accepted: isolates the runtime's own cost.</summary>
    private sealed class NullStateStore : IStateStore
    {
        public Task<StoredState?> ReadAsync(string stateType, string key, CancellationToken cancellationToken = default) => Task.FromResult<StoredState?>(null);

        public Task<WriteResult> WriteAsync(StateWrite write, CancellationToken cancellationToken = default)
            => Task.FromResult(new WriteResult(WriteOutcome.Committed, write.ExpectedVersion + 1, []));
    }
}

/// <summary>Opens the storage providers the grains benchmark writes through.</summary>
internal static class BenchStorage
{
    public static async Task<IStorageProvider> OpenSqliteAsync(string file) => await Courtyard.Storage.Sqlite.SqliteStorageProvider.OpenAsync(file);

    public static async Task<IStorageProvider> OpenPostgresAsync(string connectionString)
        => await Courtyard.Storage.Postgres.PostgresStorageProvider.OpenAsync(connectionString);

    public static async Task<string> CreatePostgresDatabaseAsync(string adminConnectionString)
    {
        var name = "grains_bench_" + Guid.NewGuid().ToString("N")[..12];
        await using var dataSource = NpgsqlDataSource.Create(adminConnectionString);
        await using (var create = dataSource.CreateCommand($"CREATE DATABASE {name}")) await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
    }

    public static async Task DropPostgresDatabaseAsync(string adminConnectionString, string database)
    {
        NpgsqlConnection.ClearAllPools();
        var name = new NpgsqlConnectionStringBuilder(database).Database;
        await using var dataSource = NpgsqlDataSource.Create(adminConnectionString);
        await using var drop = dataSource.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await drop.ExecuteNonQueryAsync();
    }
}
