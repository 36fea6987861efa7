// Storage benchmark: `dotnet run -c Release --project bench/Courtyard.Bench -- storage [--seconds 5] [--keys 10000]
//   [--writers 1,16,256] [--providers sqlite,postgres] [--postgres <connection>] [--postgres-writers 1] [--outbox] [--no-raw]
//   [--reads]`.
// Durable state writes/s through IStateStore (group commit) at each writer count over --keys keys, against a raw
// one-row-per-transaction upsert loop on the same kind of database with the same durability. Prints a table and writes
// bench/results/storage.json. With --reads, also state reads/s and latency (SQLite: on the provider's reader threads).
// Also compiled into tests/Courtyard.Storage.Tests.Worker (`... Worker bench ...`).
using System.Diagnostics;
using System.Text.Json;
using Courtyard.Storage;
using Courtyard.Storage.Postgres;
using Courtyard.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Npgsql;

public static class StorageBenchmark
{
    private const string DefaultPostgres = "Host=127.0.0.1;Port=55432;Username=postgres;Password=courtyard;Database=postgres";

    public static async Task<int> RunAsync(string[] args)
    {
        var duration = TimeSpan.FromSeconds(double.Parse(Option(args, "--seconds") ?? "5"));
        var keys = int.Parse(Option(args, "--keys") ?? "10000");
        var writerCounts = (Option(args, "--writers") ?? "1,16,256").Split(',').Select(int.Parse).ToArray();
        var providers = (Option(args, "--providers") ?? "sqlite,postgres").Split(',');
        var postgres = Option(args, "--postgres") ?? Environment.GetEnvironmentVariable("COURTYARD_TEST_POSTGRES") ?? DefaultPostgres;
        var withOutbox = args.Contains("--outbox");
        var withRaw = !args.Contains("--no-raw");
        var options = new StorageOptions { PostgresWriterConnections = int.Parse(Option(args, "--postgres-writers") ?? "1") };

        Console.WriteLine($"Storage benchmark: {Environment.ProcessorCount} cores, {duration.TotalSeconds:0.#} s per run, {keys} keys, " +
                          $"{(withOutbox ? "one outbox row per write" : "state only")}");
        Console.WriteLine($"{"provider",-10} {"mode",-14} {"writers",7} {"writes/s",10} {"p50 ms",8} {"p99 ms",8}");
        var rows = new List<Dictionary<string, object>>();
        foreach (var provider in providers)
        {
            foreach (var writers in writerCounts)
            {
                var modes = withRaw ? new[] { "group-commit", "raw" } : ["group-commit"];
                foreach (var mode in modes)
                {
                    var result = (provider, mode) switch
                    {
                        ("sqlite", "raw") => await RawSqliteAsync(writers, keys, duration),
                        ("postgres", "raw") => await RawPostgresAsync(postgres, writers, keys, duration),
                        _ => await GroupCommitAsync(provider, postgres, writers, keys, duration, withOutbox, options),
                    };
                    Console.WriteLine($"{provider,-10} {mode,-14} {writers,7} {result.PerSecond,10:0} {result.P50,8:0.00} {result.P99,8:0.00}");
                    rows.Add(new() { ["provider"] = provider, ["mode"] = mode, ["writers"] = writers, ["writesPerSecond"] = Math.Round(result.PerSecond),
                        ["p50Ms"] = Math.Round(result.P50, 2), ["p99Ms"] = Math.Round(result.P99, 2) });
                }
            }
        }
        if (args.Contains("--reads"))
        {
            foreach (var provider in providers)
            {
                foreach (var readers in writerCounts)
                {
                    var result = await ReadsAsync(provider, postgres, readers, keys, duration, options);
                    Console.WriteLine($"{provider,-10} {"read",-14} {readers,7} {result.PerSecond,10:0} {result.P50,8:0.000} {result.P99,8:0.000}");
                    rows.Add(new() { ["provider"] = provider, ["mode"] = "read", ["writers"] = readers, ["writesPerSecond"] = Math.Round(result.PerSecond),
                        ["p50Ms"] = Math.Round(result.P50, 3), ["p99Ms"] = Math.Round(result.P99, 3) });
                }
            }
        }
        if (FindRepositoryRoot() is { } root)
        {
            var output = Path.Combine(root, "bench", "results", "storage.json");
            Directory.CreateDirectory(Path.GetDirectoryName(output)!);
            await File.WriteAllTextAsync(output, JsonSerializer.Serialize(new
                {
                    machine = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
                    keys, seconds = duration.TotalSeconds, withOutbox, options.PostgresWriterConnections, rows,
                },
                new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"wrote {output}");
        }
        return 0;
    }

    internal sealed record Measurement(double PerSecond, double P50, double P99);

    /// <summary>The baseline: one upsert per autocommit transaction per writer, same database kind and durability.</summary>
    internal static Task<Measurement> RawInsertLoopAsync(string provider, string postgres, int writers, int keys, TimeSpan duration) =>
        provider == "sqlite" ? RawSqliteAsync(writers, keys, duration) : RawPostgresAsync(postgres, writers, keys, duration);

    /// <summary>Each writer owns the keys ≡ its index (mod writers), so writes never conflict; it writes them in turn, each awaiting its ack.</summary>
    private static async Task<Measurement> GroupCommitAsync(string provider, string postgres, int writers, int keys, TimeSpan duration,
        bool withOutbox, StorageOptions options)
    {
        await using var scratch = await ScratchDatabase.CreateAsync(provider, postgres);
        await using var storage = provider == "sqlite"
            ? (IStorageProvider)await SqliteStorageProvider.OpenAsync(scratch.Target, options)
            : await PostgresStorageProvider.OpenAsync(scratch.Target, options);
        var payload = new byte[100];
        return await MeasureAsync(writers, keys, duration, () =>
        {
            var versions = new Dictionary<int, long>();
            return async key =>
            {
                versions.TryGetValue(key, out var version);
                var result = await storage.State.WriteAsync(new StateWrite
                {
                    StateType = "bench", Key = "k" + key, Data = payload, ExpectedVersion = version,
                    Outbox = withOutbox ? [new OutboxMessage("courtyard-" + key % 100, "bench", "courtyard.bench.written.v1", "{}")] : [],
                });
                versions[key] = result.NewVersion;
            };
        });
    }

    /// <summary>Point reads of 100-byte states by key, each reader awaiting each read.</summary>
    private static async Task<Measurement> ReadsAsync(string provider, string postgres, int readers, int keys, TimeSpan duration, StorageOptions options)
    {
        await using var scratch = await ScratchDatabase.CreateAsync(provider, postgres);
        await using var storage = provider == "sqlite"
            ? (IStorageProvider)await SqliteStorageProvider.OpenAsync(scratch.Target, options)
            : await PostgresStorageProvider.OpenAsync(scratch.Target, options);
        await Task.WhenAll(Enumerable.Range(0, keys).Select(key =>
            storage.State.WriteAsync(new StateWrite { StateType = "bench", Key = "k" + key, Data = new byte[100] })));
        return await MeasureAsync(readers, keys, duration, () => async key => _ = await storage.State.ReadAsync("bench", "k" + key));
    }

    private static async Task<Measurement> RawSqliteAsync(int writers, int keys, TimeSpan duration)
    {
        await using var scratch = await ScratchDatabase.CreateAsync("sqlite", "");
        await using (var storage = await SqliteStorageProvider.OpenAsync(scratch.Target)) { } // same schema
        var payload = new byte[100];
        return await MeasureAsync(writers, keys, duration, () =>
        {
            var connection = new SqliteConnection($"Data Source={scratch.Target};Pooling=False;Default Timeout=60");
            connection.Open();
            using (var pragmas = connection.CreateCommand())
            {
                pragmas.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 60000;";
                pragmas.ExecuteNonQuery();
            }
            var upsert = connection.CreateCommand();
            upsert.CommandText = "INSERT INTO grain_state (state_type, key, data, version, updated_at) VALUES ('bench', $k, $d, 1, 0) " +
                                 "ON CONFLICT (state_type, key) DO UPDATE SET data = excluded.data, version = grain_state.version + 1";
            var keyParameter = upsert.Parameters.Add("$k", SqliteType.Text);
            upsert.Parameters.AddWithValue("$d", payload);
            return key =>
            {
                keyParameter.Value = "k" + key;
                upsert.ExecuteNonQuery(); // autocommit: one transaction, one fsync per row
                return Task.CompletedTask;
            };
        });
    }

    private static async Task<Measurement> RawPostgresAsync(string postgres, int writers, int keys, TimeSpan duration)
    {
        await using var scratch = await ScratchDatabase.CreateAsync("postgres", postgres);
        await using (var storage = await PostgresStorageProvider.OpenAsync(scratch.Target)) { } // same schema
        await using var dataSource = NpgsqlDataSource.Create(scratch.Target);
        var payload = new byte[100];
        return await MeasureAsync(writers, keys, duration, () =>
        {
            return async key =>
            {
                await using var upsert = dataSource.CreateCommand(
                    "INSERT INTO grain_state (state_type, key, data, version) VALUES ('bench', $1, $2, 1) " +
                    "ON CONFLICT (state_type, key) DO UPDATE SET data = excluded.data, version = grain_state.version + 1");
                upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "k" + key });
                upsert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = payload });
                await upsert.ExecuteNonQueryAsync(); // autocommit: one transaction, one fsync per row
            };
        });
    }

    /// <summary>Runs <paramref name="writers"/> loops for a 1 s warm-up and then <paramref name="duration"/>, counting completed writes.</summary>
    internal static async Task<Measurement> MeasureAsync(int writers, int keys, TimeSpan duration, Func<Func<int, Task>> createWriter)
    {
        var measuring = false;
        var stop = false;
        var latencies = new List<double>[writers];
        var tasks = Enumerable.Range(0, writers).Select(index => Task.Run(async () =>
        {
            var write = createWriter();
            var mine = latencies[index] = new List<double>(1 << 16);
            var owned = Enumerable.Range(0, keys).Where(k => k % writers == index).ToArray();
            if (owned.Length == 0) return;
            for (var i = 0; !Volatile.Read(ref stop); i++)
            {
                var started = Stopwatch.GetTimestamp();
                await write(owned[i % owned.Length]);
                if (Volatile.Read(ref measuring)) mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        })).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(1));
        Volatile.Write(ref measuring, true);
        var clock = Stopwatch.StartNew();
        await Task.Delay(duration);
        Volatile.Write(ref measuring, false);
        var elapsed = clock.Elapsed.TotalSeconds;
        Volatile.Write(ref stop, true);
        await Task.WhenAll(tasks);
        var all = latencies.Where(l => l is not null).SelectMany(l => l).Order().ToArray();
        if (all.Length == 0) return new Measurement(0, 0, 0);
        return new Measurement(all.Length / elapsed, all[all.Length / 2], all[(int)(all.Length * 0.99)]);
    }

    /// <summary>A fresh SQLite file in a temporary folder, or a fresh PostgreSQL database; removed afterwards.</summary>
    internal sealed class ScratchDatabase : IAsyncDisposable
    {
        private readonly Func<Task> remove;

        private ScratchDatabase(string target, Func<Task> remove)
        {
            Target = target;
            this.remove = remove;
        }

        /// <summary>The SQLite path or the PostgreSQL connection string.</summary>
        public string Target { get; }

        public static async Task<ScratchDatabase> CreateAsync(string provider, string postgres)
        {
            if (provider == "sqlite")
            {
                var folder = Directory.CreateTempSubdirectory("courtyard-storage-bench-").FullName;
                return new ScratchDatabase(Path.Combine(folder, "bench.db"), () =>
                {
                    SqliteConnection.ClearAllPools();
                    Directory.Delete(folder, recursive: true);
                    return Task.CompletedTask;
                });
            }
            var name = "courtyard_bench_" + Guid.NewGuid().ToString("N")[..12];
            await using (var admin = NpgsqlDataSource.Create(postgres))
            await using (var create = admin.CreateCommand($"CREATE DATABASE {name}"))
                await create.ExecuteNonQueryAsync();
            var target = new NpgsqlConnectionStringBuilder(postgres) { Database = name }.ConnectionString;
            return new ScratchDatabase(target, async () =>
            {
                NpgsqlConnection.ClearAllPools();
                await using var admin = NpgsqlDataSource.Create(postgres);
                await using var drop = admin.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                await drop.ExecuteNonQueryAsync();
            });
        }

        public async ValueTask DisposeAsync() => await remove();
    }

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static string? FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Platform.sln"))) return directory.FullName;
        }
        return null;
    }
}
