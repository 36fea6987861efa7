// A process for the storage tests to kill, and a host for the storage benchmark:
//   crash-writer sqlite <path> | crash-writer postgres <connection-string>         (the storage alone)
//   grain-crash-writer sqlite <path> | grain-crash-writer postgres <connection>    (through an Orleans silo)
//   bench [StorageBenchmark options] | grain-storage-bench [GrainStorageBenchmark options]
using System.Net;
using System.Net.Sockets;
using System.Text;
using Courtyard.Storage;
using Courtyard.Storage.Postgres;
using Courtyard.Storage.Sqlite;
using Courtyard.Storage.Tests.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Hosting;

return args.FirstOrDefault() switch
{
    "crash-writer" when args.Length == 3 => await CrashWriter.RunAsync(args[1], args[2]),
    "grain-crash-writer" when args.Length == 3 => await GrainCrashWriter.RunAsync(args[1], args[2]),
    "bench" => await StorageBenchmark.RunAsync(args[1..]),
    "grain-storage-bench" => await GrainStorageBenchmark.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Courtyard.Storage.Tests.Worker <crash-writer|grain-crash-writer> <sqlite|postgres> <path|connection> | bench [options] | grain-storage-bench [options]");
    return 2;
}

internal static class WorkerStorage
{
    public static async Task<IStorageProvider> OpenAsync(string provider, string target) => provider switch
    {
        "sqlite" => await SqliteStorageProvider.OpenAsync(target),
        "postgres" => await PostgresStorageProvider.OpenAsync(target),
        _ => throw new ArgumentException($"unknown provider {provider}"),
    };
}

/// <summary>
/// A silo whose grains write until the process is killed: 32 callers over counter grains k0…k199, each call one
/// Increment that writes the state (count n at version n) and raises "kN:n" as an outbox row in the same transaction.
/// Prints "ack kN n" once the grain call returned, so the killer knows what must survive.
/// </summary>
internal static class GrainCrashWriter
{
    public const int Keys = 200;
    public const int Callers = 32;

    public static async Task<int> RunAsync(string provider, string target)
    {
        using var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Error))
            .ConfigureServices(services => services.AddSingleton<ReminderTicks>())
            .UseOrleans(silo => silo
                .UseLocalhostClustering(FreePort(), FreePort(), serviceId: "courtyard-storage-crash", clusterId: "crash")
                .AddCourtyardGrainStorage(TestStorage.Name, _ => Task.Run(() => WorkerStorage.OpenAsync(provider, target)).GetAwaiter().GetResult()))
            .Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var output = Console.Out;
        await output.WriteLineAsync("ready");
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            var owned = Enumerable.Range(0, Keys).Where(k => k % Callers == caller).Select(k => "k" + k).ToArray();
            for (var i = 0; ; i++)
            {
                var key = owned[i % owned.Length];
                var count = await grains.GetGrain<ICounterGrain>(key).Increment(raise: true);
                output.WriteLine($"ack {key} {count}");
            }
        })));
        return 0;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// Writes concurrently until killed: key kN's state is "kN:v" at version v, and each write appends one outbox row with
/// the same text (partition kN). Prints "ack kN v" once a write is acknowledged, so the killer knows what must survive.
/// </summary>
internal static class CrashWriter
{
    public const int Keys = 200;
    public const int Writers = 32;

    public static async Task<int> RunAsync(string provider, string target)
    {
        await using var storage = await WorkerStorage.OpenAsync(provider, target);
        var output = Console.Out;
        await output.WriteLineAsync("ready");
        var writers = Enumerable.Range(0, Writers).Select(writer => Task.Run(async () =>
        {
            var owned = Enumerable.Range(0, Keys).Where(k => k % Writers == writer).Select(k => "k" + k).ToArray();
            var versions = owned.ToDictionary(key => key, _ => 0L);
            for (var i = 0; ; i++)
            {
                var key = owned[i % owned.Length];
                var value = $"{key}:{versions[key] + 1}";
                var result = await storage.State.WriteAsync(new StateWrite
                {
                    StateType = "crash",
                    Key = key,
                    Data = Encoding.UTF8.GetBytes(value),
                    ExpectedVersion = versions[key],
                    Outbox = [new OutboxMessage(key, "crash", "courtyard.tests.crash_written.v1", value)],
                });
                versions[key] = result.NewVersion;
                output.WriteLine($"ack {key} {result.NewVersion}");
            }
        })).ToArray();
        await Task.WhenAll(writers);
        return 0;
    }
}
