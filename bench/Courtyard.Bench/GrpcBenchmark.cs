using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Courtyard.Grpc;
using Courtyard.Grpc.Tests.Interop;
using Courtyard.Testing;
using Courtyard.Interop.V1;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

/// <summary>
/// Unary round trips per second and p50/p99 latency, Courtyard.Grpc against @grpc/grpc-js, in one run:
///   ours -> ours       our GrpcChannel -> our server (a separate process: `Courtyard.Bench grpc-server`)
///   ours -> grpc-js    our GrpcChannel -> tests/Interop/server.js
///   grpc-js -> grpc-js tests/Interop/bench.js -> server.js (reference)
///   grpc-js -> ours    tests/Interop/bench.js -> our server
/// Both servers run as their own process so neither shares a GC or thread pool with the load generator.
/// Options: --duration-s 10 --warmup-s 3 --concurrency 1,32 --out bench/results/grpc.json
/// </summary>
public static class GrpcBenchmark
{
    private const double TargetThroughputRatio = 2.5;
    private const double TargetP99Ms = 10;
    private const int TargetConcurrency = 32;

    private static readonly Method<EchoRequest, EchoReply> Echo = Method.Create<EchoRequest, EchoReply>(InteropReflection.Descriptor, "Interop", "Echo");

    // The same request tests/Interop/bench.js sends.
    private static readonly EchoRequest BenchRequest = new() { Text = "bench", Payload = ByteString.CopyFrom(Enumerable.Repeat((byte)7, 64).ToArray()) };

    public static async Task<int> RunAsync(string[] args)
    {
        var settings = Settings.Parse(args);
        await NodePeers.EnsureInstalledAsync();
        string loadBefore = BenchMachine.LoadAverage();

        await using var ourServer = ChildProcess.Start(SelfCommand.FileName, [.. SelfCommand.Arguments, "grpc-server", "--port", "0"], RepositoryRoot.Path);
        await using var nodeServer = ChildProcess.Start("node", ["server.js", "--port", "0"], NodePeers.Directory);
        var ourTarget = $"127.0.0.1:{await ourServer.WaitForPortAsync(TimeSpan.FromSeconds(30))}";
        var nodeTarget = $"127.0.0.1:{await nodeServer.WaitForPortAsync(TimeSpan.FromSeconds(30))}";

        var cells = new List<Cell>();
        foreach (int concurrency in settings.Concurrency)
        {
            cells.Add(await MeasureOurClientAsync("ours -> ours", ourTarget, concurrency, settings));
            cells.Add(await MeasureOurClientAsync("ours -> grpc-js", nodeTarget, concurrency, settings));
            if (settings.NodeClient)
            {
                cells.Add(await MeasureNodeClientAsync("grpc-js -> grpc-js", nodeTarget, concurrency, settings));
                cells.Add(await MeasureNodeClientAsync("grpc-js -> ours", ourTarget, concurrency, settings));
            }
        }

        var report = BuildReport(cells, settings, loadBefore, BenchMachine.LoadAverage(), await NodeVersionAsync());
        PrintTable(cells, report);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(settings.OutputPath)!);
        await File.WriteAllTextAsync(settings.OutputPath, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        Console.WriteLine($"wrote {settings.OutputPath}");
        return cells.Any(cell => cell.Errors > 0) ? 1 : 0;
    }

    /// <summary>`Courtyard.Bench grpc-server --port N`: our server with the interop service; prints {"port":N}, exits when stdin closes.</summary>
    public static async Task<int> RunServerAsync(string[] args)
    {
        int port = int.Parse(Settings.Value(args, "--port") ?? "0");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenGrpc(IPAddress.Loopback, port));
        builder.Services.AddGrpcServer(options => options.ResponseCompression = null)
            .AddService<BenchInteropService>(InteropReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Interop"));
        await using var app = builder.Build();
        app.MapGrpcServices();
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine(JsonSerializer.Serialize(new { port = new Uri(address).Port }));
        await Console.In.ReadToEndAsync(); // returns when the parent closes our stdin (or dies)
        await app.StopAsync();
        return 0;
    }

    private static async Task<Cell> MeasureOurClientAsync(string name, string target, int concurrency, Settings settings)
    {
        using var channel = GrpcChannel.ForAddress($"http://{target}", new GrpcChannelOptions());
        await RunLoadAsync(channel, concurrency, settings.Warmup, latencies: null);
        var latencies = Enumerable.Range(0, concurrency).Select(_ => new List<double>(capacity: 100_000)).ToArray();
        var stopwatch = Stopwatch.StartNew();
        int errors = await RunLoadAsync(channel, concurrency, settings.Duration, latencies);
        stopwatch.Stop();
        var all = latencies.SelectMany(list => list).Order().ToArray();
        return Print(new Cell(name, concurrency, all.Length, errors, stopwatch.Elapsed.TotalSeconds, Percentile(all, 0.50), Percentile(all, 0.99)));
    }

    // Keeps `concurrency` unary calls in flight until `duration` is over; returns the number of failed calls.
    private static async Task<int> RunLoadAsync(GrpcChannel channel, int concurrency, TimeSpan duration, List<double>[]? latencies)
    {
        long endAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        int errors = 0;
        var workers = Enumerable.Range(0, concurrency).Select(async worker =>
        {
            while (Stopwatch.GetTimestamp() < endAt)
            {
                long started = Stopwatch.GetTimestamp();
                try
                {
                    await channel.UnaryAsync(Echo, BenchRequest);
                    latencies?[worker].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (RpcException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        });
        await Task.WhenAll(workers);
        return errors;
    }

    private static async Task<Cell> MeasureNodeClientAsync(string name, string target, int concurrency, Settings settings)
    {
        var (exitCode, output, error) = await ChildProcess.RunToEndAsync("node",
            ["bench.js", "--target", target, "--concurrency", concurrency.ToString(),
             "--duration-s", settings.Duration.TotalSeconds.ToString(), "--warmup-s", settings.Warmup.TotalSeconds.ToString()],
            NodePeers.Directory, settings.Duration + settings.Warmup + TimeSpan.FromMinutes(1));
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"bench.js failed ({exitCode}): {error}");
        }
        var result = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        return Print(new Cell(name, concurrency, (int)result["calls"]!, (int)result["errors"]!, (double)result["seconds"]!,
            (double)result["p50Ms"]!, (double)result["p99Ms"]!));
    }

    private static Cell Print(Cell cell)
    {
        Console.WriteLine($"  measured {cell.Name,-18} x{cell.Concurrency,-3} {cell.CallsPerSecond,9:F0} calls/s  p50 {cell.P50Ms,6:F2} ms  p99 {cell.P99Ms,6:F2} ms  errors {cell.Errors}");
        return cell;
    }

    private static double Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(fraction * sorted.Length))];

    private static JsonObject BuildReport(List<Cell> cells, Settings settings, string loadBefore, string loadAfter, string nodeVersion)
    {
        Cell? Find(string name, int concurrency) => cells.FirstOrDefault(c => c.Name == name && c.Concurrency == concurrency);
        var ratios = new JsonObject();
        foreach (int concurrency in settings.Concurrency)
        {
            var ours = Find("ours -> ours", concurrency)!;
            var theirs = Find("ours -> grpc-js", concurrency)!;
            ratios[$"x{concurrency}"] = Math.Round(ours.CallsPerSecond / theirs.CallsPerSecond, 2);
        }
        var atTarget = Find("ours -> ours", TargetConcurrency);
        double? ratioAtTarget = atTarget is null ? null : (double?)ratios[$"x{TargetConcurrency}"];
        return new JsonObject
        {
            ["benchmark"] = "grpc unary Echo round trips (64-byte payload), one HTTP/2 connection per client",
            ["date"] = DateTime.UtcNow.ToString("O"),
            ["machine"] = new JsonObject
            {
                ["cores"] = Environment.ProcessorCount,
                ["cpu"] = ReadCpuModel(),
                ["memoryMiB"] = ReadMemoryMiB(),
                ["os"] = RuntimeInformation.OSDescription,
                ["dotnet"] = RuntimeInformation.FrameworkDescription,
                ["node"] = nodeVersion,
                ["configuration"] = BuildConfiguration,
                ["serverGC"] = System.Runtime.GCSettings.IsServerGC,
                ["loadAverageBefore"] = loadBefore,
                ["loadAverageAfter"] = loadAfter,
            },
            ["settings"] = new JsonObject
            {
                ["warmupSeconds"] = settings.Warmup.TotalSeconds,
                ["durationSeconds"] = settings.Duration.TotalSeconds,
                ["concurrency"] = new JsonArray(settings.Concurrency.Select(c => (JsonNode)c).ToArray()),
                ["servers"] = "each server in its own process; the load generator in a third",
            },
            ["cells"] = new JsonArray(cells.Select(c => (JsonNode)new JsonObject
            {
                ["client -> server"] = c.Name,
                ["concurrency"] = c.Concurrency,
                ["calls"] = c.Calls,
                ["errors"] = c.Errors,
                ["seconds"] = Math.Round(c.Seconds, 3),
                ["callsPerSecond"] = Math.Round(c.CallsPerSecond, 1),
                ["p50Ms"] = Math.Round(c.P50Ms, 3),
                ["p99Ms"] = Math.Round(c.P99Ms, 3),
            }).ToArray()),
            ["ratioOursToGrpcJsServer"] = ratios,
            ["targets"] = new JsonObject
            {
                [$"ours/grpc-js server throughput at x{TargetConcurrency} >= {TargetThroughputRatio}"] = ratioAtTarget >= TargetThroughputRatio,
                [$"ours -> ours p99 at x{TargetConcurrency} <= {TargetP99Ms} ms"] = atTarget?.P99Ms <= TargetP99Ms,
            },
        };
    }

    private static void PrintTable(List<Cell> cells, JsonObject report)
    {
        Console.WriteLine();
        Console.WriteLine($"| client -> server    | concurrency | calls/s | p50 ms | p99 ms | errors |");
        Console.WriteLine($"|---------------------|------------:|--------:|-------:|-------:|-------:|");
        foreach (var cell in cells)
        {
            Console.WriteLine($"| {cell.Name,-19} | {cell.Concurrency,11} | {cell.CallsPerSecond,7:F0} | {cell.P50Ms,6:F2} | {cell.P99Ms,6:F2} | {cell.Errors,6} |");
        }
        Console.WriteLine();
        Console.WriteLine($"ours/grpc-js server throughput (our client): {report["ratioOursToGrpcJsServer"]!.ToJsonString()}");
        Console.WriteLine($"targets met: {report["targets"]!.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })}");
        var machine = report["machine"]!;
        Console.WriteLine($"machine: {machine["cores"]} cores, {machine["cpu"]}, {machine["memoryMiB"]} MiB, {machine["os"]}, {machine["dotnet"]}, node {machine["node"]}, {machine["configuration"]}, load {machine["loadAverageBefore"]}");
    }

    private static string BuildConfiguration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    private static string ReadCpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown"
            : RuntimeInformation.ProcessArchitecture.ToString();

    private static long ReadMemoryMiB()
    {
        var line = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) : null;
        return line is null ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024) : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
    }


    private static async Task<string> NodeVersionAsync() =>
        (await ChildProcess.RunToEndAsync("node", ["--version"], NodePeers.Directory, TimeSpan.FromSeconds(10))).StandardOutput.Trim();

    private sealed record Cell(string Name, int Concurrency, int Calls, int Errors, double Seconds, double P50Ms, double P99Ms)
    {
        public double CallsPerSecond => Calls / Seconds;
    }

    private sealed record Settings(TimeSpan Warmup, TimeSpan Duration, int[] Concurrency, bool NodeClient, string OutputPath)
    {
        public static Settings Parse(string[] args) => new(
            TimeSpan.FromSeconds(double.Parse(Value(args, "--warmup-s") ?? "3")),
            TimeSpan.FromSeconds(double.Parse(Value(args, "--duration-s") ?? "10")),
            (Value(args, "--concurrency") ?? "1,32").Split(',').Select(int.Parse).ToArray(),
            !args.Contains("--no-node-client"),
            Path.GetFullPath(Value(args, "--out") ?? Path.Combine(RepositoryRoot.Path, "bench", "results", "grpc.json")));

        public static string? Value(string[] args, string name)
        {
            int index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
        }
    }

    // How to start this same bench executable again (apphost, or `dotnet Courtyard.Bench.dll`).
    private static class SelfCommand
    {
        private static readonly bool ViaDotnetHost = Path.GetFileNameWithoutExtension(Environment.ProcessPath ?? "dotnet") == "dotnet";

        public static string FileName => Environment.ProcessPath ?? "dotnet";

        public static string[] Arguments => ViaDotnetHost ? [typeof(GrpcBenchmark).Assembly.Location] : [];
    }
}

/// <summary>interop.proto served with the least work per call, so the benchmark measures the transport.</summary>
public sealed class BenchInteropService
{
    public Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) =>
        Task.FromResult(new EchoReply { Text = request.Text, Payload = request.Payload });

    public async Task Countdown(StreamRequest request, IServerStreamWriter<Chunk> responses, ServerCallContext context)
    {
        for (int index = 0; index < request.Count; index++)
        {
            await responses.WriteAsync(new Chunk { Index = index, Text = request.Text });
        }
    }

    public async Task<Summary> Collect(IAsyncStreamReader<Chunk> requests, ServerCallContext context)
    {
        var summary = new Summary();
        await foreach (var chunk in requests.ReadAllAsync(context.CancellationToken))
        {
            summary.Count++;
            summary.TotalBytes += chunk.Payload.Length;
        }
        return summary;
    }

    public async Task Chat(IAsyncStreamReader<Chunk> requests, IServerStreamWriter<Chunk> responses, ServerCallContext context)
    {
        await foreach (var chunk in requests.ReadAllAsync(context.CancellationToken))
        {
            await responses.WriteAsync(chunk);
        }
    }
}
