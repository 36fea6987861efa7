// A process for the storage tests to kill, and a host for the storage benchmark:
//   crash-writer sqlite <path> | crash-writer postgres <connection-string>
//   bench [StorageBenchmark options]
using System.Text;
using Courtyard.Storage;
using Courtyard.Storage.Postgres;
using Courtyard.Storage.Sqlite;

return args.FirstOrDefault() switch
{
    "crash-writer" when args.Length == 3 => await CrashWriter.RunAsync(args[1], args[2]),
    "bench" => await StorageBenchmark.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Courtyard.Storage.Tests.Worker crash-writer <sqlite|postgres> <path|connection> | bench [options]");
    return 2;
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
        await using var storage = provider switch
        {
            "sqlite" => (IStorageProvider)await SqliteStorageProvider.OpenAsync(target),
            "postgres" => await PostgresStorageProvider.OpenAsync(target),
            _ => throw new ArgumentException($"unknown provider {provider}"),
        };
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
