// Roll import benchmark: `dotnet run -c Release --project bench/Courtyard.Bench -- directory-import [--households 5000]
//   [--runs 5] [--storage sqlite|postgres] [--out FILE]`.
// Imports a committee spreadsheet of N households (one owner each, every tenth also let to a tenant) through gRPC into a
// fresh courtyard of an in-process Directory composed as its Program composes it (ServiceDefaults: Kestrel h2c, Orleans
// silo, its own SQLite file — or PostgreSQL from COURTYARD_TEST_POSTGRES — and the in-process event bus), --runs times,
// and the same file again into the last courtyard (nothing changes). Baseline in the same run: reading and checking the
// file alone (RollCsvReader), the floor of any import. Writes bench/results/directory-import.json.
using System.Diagnostics;
using System.Text.Json;
using Courtyard.Common.V1;
using Courtyard.Directory;
using Courtyard.Directory.Roll;
using Courtyard.Directory.Tests.Support;
using Courtyard.Directory.V1;
using Courtyard.Testing.Services;
using Google.Protobuf;
using Grpc.Core;
using DirectoryClient = Courtyard.Directory.V1.Directory.DirectoryClient;

public static class DirectoryImportBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        int households = int.Parse(Option(args, "--households") ?? "5000");
        int runs = int.Parse(Option(args, "--runs") ?? "5");
        var machine = BenchMachine.Describe();
        byte[] file = RollFiles.Utf8(RollFiles.Generate(households));
        Console.WriteLine($"Roll import: {households} households ({file.Length / 1024} KiB), {runs} runs, load {machine["loadAverageAtStart"]}");

        var readTimes = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var timer = Stopwatch.StartNew();
            var read = RollCsvReader.Read(file);
            readTimes.Add(timer.Elapsed.TotalMilliseconds);
            if (read.Errors.Count > 0)
            {
                throw new InvalidOperationException(read.Errors[0].English);
            }
        }

        var storage = Option(args, "--storage") == "postgres" ? TestStorage.Postgres : TestStorage.Sqlite;
        await using var host = await ServiceTestHost.StartAsync(DirectoryOptions.ServiceName, builder => builder.AddDirectory(), app => app.MapDirectory(),
            storage, new Dictionary<string, string?>
            {
                ["Directory:Bootstrap:AdminLogin"] = "admin",
                ["Directory:Bootstrap:AdminPassword"] = "bench-admin-password",
            });
        var client = new DirectoryClient(host.Channel);
        var admin = new Metadata { { "authorization", "Bearer " + (await client.SignInAsync(new SignInRequest { Login = "admin", Password = "bench-admin-password" })).AccessToken } };
        string community = await CreateAsync(client, admin, await CreateAsync(client, admin, "", TerritoryLevel.Street, "街道"), TerritoryLevel.Community, "社区");

        var importTimes = new List<double>();
        string courtyard = "";
        for (int i = 0; i < runs; i++)
        {
            courtyard = await CreateAsync(client, admin, community, TerritoryLevel.Courtyard, $"院落{i}");
            importTimes.Add(await ImportAsync(client, admin, courtyard, file, expectAdded: households));
            Console.WriteLine($"  run {i + 1}: {importTimes[^1]:0} ms");
        }
        double unchanged = await ImportAsync(client, admin, courtyard, file, expectAdded: 0);

        Console.WriteLine($"{"measure",-34} {"median ms",10} {"min ms",8} {"max ms",8}");
        Console.WriteLine($"{"read + check the file (baseline)",-34} {Median(readTimes),10:0} {readTimes.Min(),8:0} {readTimes.Max(),8:0}");
        Console.WriteLine($"{"import through gRPC",-34} {Median(importTimes),10:0} {importTimes.Min(),8:0} {importTimes.Max(),8:0}");
        Console.WriteLine($"{"same file again (no change)",-34} {unchanged,10:0}");
        machine["loadAverageAtEnd"] = BenchMachine.LoadAverage();
        string output = Option(args, "--out") ?? Path.Combine(Courtyard.Testing.RepositoryRoot.Path, "bench", "results", "directory-import.json");
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(new
        {
            benchmark = "directory-import",
            at = DateTimeOffset.UtcNow,
            machine,
            storage = storage == TestStorage.Postgres ? "PostgreSQL (Courtyard.Storage)" : "SQLite (Courtyard.Storage, the embedded default)",
            households,
            residents = households + households / 10,
            fileBytes = file.Length,
            runs,
            readAndCheckMs = new { median = Median(readTimes), min = readTimes.Min(), max = readTimes.Max() },
            importMs = new { median = Median(importTimes), min = importTimes.Min(), max = importTimes.Max(), all = importTimes },
            sameFileAgainMs = unchanged,
            target = new { importSeconds = 5, met = Median(importTimes) <= 5_000 },
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static async Task<double> ImportAsync(DirectoryClient client, Metadata admin, string courtyard, byte[] file, int expectAdded)
    {
        var timer = Stopwatch.StartNew();
        using var call = client.ImportRoll(new ImportRollRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), CourtyardId = courtyard, Csv = ByteString.CopyFrom(file),
        }, admin);
        ImportRollProgress? last = null;
        await foreach (var progress in call.ResponseStream.ReadAllAsync())
        {
            last = progress;
        }
        double elapsed = timer.Elapsed.TotalMilliseconds;
        if (last?.Summary.HouseholdsAdded != expectAdded)
        {
            throw new InvalidOperationException($"Expected {expectAdded} households added, got {last?.Summary}");
        }
        return elapsed;
    }

    private static async Task<string> CreateAsync(DirectoryClient client, Metadata admin, string parent, TerritoryLevel level, string name) =>
        (await client.CreateTerritoryNodeAsync(new CreateTerritoryNodeRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), ParentId = parent, Level = level, Name = new LocalizedText { ZhCn = name },
        }, admin)).Id;

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string? Option(string[] args, string name) =>
        Array.IndexOf(args, name) is int at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}
