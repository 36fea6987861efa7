using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Courtyard.Authorization;
using Courtyard.Interop.V1;
using Courtyard.ServiceDefaults;
using Courtyard.ServiceDefaults.Tests.Grpc.Interop;
using Courtyard.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

/// <summary>
/// Unary Echo round trips per second and p50/p99 latency (64-byte payload, tests/Interop/interop.proto), one client
/// (Grpc.Net.Client, in this process, one HTTP/2 connection) against three servers, each its own process:
///   courtyard  a service host exactly as every Courtyard service runs (AddServiceDefaults: Grpc.AspNetCore, the error
///              interceptor, health checks, telemetry) with a minimal Echo handler — `Courtyard.Bench grpc-server --kind courtyard`
///   grpc-js    tests/Interop/server.js (@grpc/grpc-js 1.14)
///   kestrel    raw Kestrel HTTP/2 answering every POST with the same response bytes, framed by hand: the ceiling
/// Targets (issue 7 §6), at 32 calls in flight: courtyard ≥ 2.5× grpc-js and ≥ 0.8× raw Kestrel.
/// Options: --duration-s 10 --warmup-s 3 --concurrency 1,32 --out bench/results/grpc.json
/// </summary>
public static class GrpcBenchmark
{
    private const double TargetOverGrpcJs = 2.5;
    private const double TargetOverKestrel = 0.8;
    private const int TargetConcurrency = 32;

    private static readonly EchoRequest BenchRequest = new() { Text = "bench", Payload = ByteString.CopyFrom(Enumerable.Repeat((byte)7, 64).ToArray()) };

    /// <summary>What every server answers: the EchoReply to <see cref="BenchRequest"/>, as a gRPC message frame.</summary>
    private static readonly byte[] ReplyFrame = Frame(new EchoReply { Text = BenchRequest.Text, Payload = BenchRequest.Payload }.ToByteArray());

    public static async Task<int> RunAsync(string[] args)
    {
        var settings = Settings.Parse(args);
        await NodePeers.EnsureInstalledAsync();
        var machine = BenchMachine.Describe();

        await using var courtyard = ChildProcess.Start(SelfCommand.FileName, [.. SelfCommand.Arguments, "grpc-server", "--kind", "courtyard"], RepositoryRoot.Path);
        await using var kestrel = ChildProcess.Start(SelfCommand.FileName, [.. SelfCommand.Arguments, "grpc-server", "--kind", "kestrel"], RepositoryRoot.Path);
        await using var plain = ChildProcess.Start(SelfCommand.FileName, [.. SelfCommand.Arguments, "grpc-server", "--kind", "plain"], RepositoryRoot.Path);
        await using var grpcJs = ChildProcess.Start("node", ["server.js", "--port", "0"], NodePeers.Directory);
        var servers = new (string Name, string Target, int Pid)[]
        {
            ("courtyard", $"127.0.0.1:{await courtyard.WaitForPortAsync(TimeSpan.FromSeconds(60))}", courtyard.Id),
            ("grpc-js", $"127.0.0.1:{await grpcJs.WaitForPortAsync(TimeSpan.FromSeconds(30))}", grpcJs.Id),
            ("kestrel", $"127.0.0.1:{await kestrel.WaitForPortAsync(TimeSpan.FromSeconds(30))}", kestrel.Id),
            ("plain", $"127.0.0.1:{await plain.WaitForPortAsync(TimeSpan.FromSeconds(30))}", plain.Id),
        };

        var cells = new List<Cell>();
        foreach (int concurrency in settings.Concurrency)
        {
            foreach (var (name, target, pid) in servers)
            {
                cells.Add(await MeasureAsync(name, target, pid, concurrency, settings));
            }
        }

        var report = BuildReport(cells, settings, machine);
        PrintTable(cells, report);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(settings.OutputPath)!);
        await File.WriteAllTextAsync(settings.OutputPath, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        Console.WriteLine($"wrote {settings.OutputPath}");
        return cells.Any(cell => cell.Errors > 0) ? 1 : 0;
    }

    /// <summary>`Courtyard.Bench grpc-server --kind courtyard|kestrel`: prints {"port":N} and serves until stdin closes.</summary>
    public static async Task<int> RunServerAsync(string[] args)
    {
        await using var app = Settings.Value(args, "--kind") switch
        {
            "courtyard" => BuildCourtyardServer(),
            "kestrel" => BuildKestrelServer(),
            "plain" => BuildPlainGrpcServer(),
            var other => throw new ArgumentException($"--kind {other}: expected courtyard or kestrel"),
        };
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)))
            .First(uri => app.Services.GetService<ServiceEndpoints>() is not { } endpoints || uri.Port == endpoints.GrpcAddress.Port);
        Console.WriteLine(JsonSerializer.Serialize(new { port = address.Port }));
        await Console.In.ReadToEndAsync(); // returns when the parent closes our stdin (or dies)
        await app.StopAsync();
        return 0;
    }

    private static WebApplication BuildCourtyardServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Courtyard:GrpcPort"] = "0",
            ["Courtyard:HttpPort"] = "0",
            ["Courtyard:DataDir"] = Path.Combine(Path.GetTempPath(), "courtyard-bench-grpc"),
        });
        builder.AddServiceDefaults("bench");
        var interop = Courtyard.Interop.V1.Interop.Descriptor;
        builder.Services.AddRpcAccess(Courtyard.Authorization.Access.RpcAccessTable.For(interop).Anonymous([.. interop.Methods.Select(m => m.Name)]).Build());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapGrpcService<BenchInteropService>();
        return app;
    }

    private static WebApplication BuildPlainGrpcServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<BenchInteropService>();
        return app;
    }

    private static WebApplication BuildKestrelServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.Run(async http =>
        {
            // Read the request to its end, as a gRPC server must, then answer the same bytes every time.
            var reader = http.Request.BodyReader;
            while (true)
            {
                var read = await reader.ReadAsync();
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }
            http.Response.ContentType = "application/grpc";
            http.Response.DeclareTrailer("grpc-status");
            await http.Response.BodyWriter.WriteAsync(ReplyFrame);
            http.Response.AppendTrailer("grpc-status", "0");
        });
        return app;
    }

    private static async Task<Cell> MeasureAsync(string server, string target, int pid, int concurrency, Settings settings)
    {
        using var channel = GrpcChannel.ForAddress($"http://{target}");
        var client = new Courtyard.Interop.V1.Interop.InteropClient(channel);
        await RunLoadAsync(client, concurrency, settings.Warmup, latencies: null);
        var latencies = Enumerable.Range(0, concurrency).Select(_ => new List<double>(capacity: 100_000)).ToArray();
        var cpuBefore = ProcessCpu(pid);
        var stopwatch = Stopwatch.StartNew();
        int errors = await RunLoadAsync(client, concurrency, settings.Duration, latencies);
        stopwatch.Stop();
        var serverCpu = ProcessCpu(pid) - cpuBefore;
        var all = latencies.SelectMany(list => list).Order().ToArray();
        var cell = new Cell(server, concurrency, all.Length, errors, stopwatch.Elapsed.TotalSeconds, Percentile(all, 0.50), Percentile(all, 0.99),
            all.Length == 0 ? double.NaN : serverCpu.TotalMicroseconds / all.Length);
        Console.WriteLine($"  measured {cell.Server,-10} x{cell.Concurrency,-3} {cell.CallsPerSecond,9:F0} calls/s  p50 {cell.P50Ms,6:F2} ms  p99 {cell.P99Ms,6:F2} ms  server CPU {cell.ServerCpuMicroseconds,6:F1} µs/call  errors {cell.Errors}");
        return cell;
    }

    /// <summary>User + system CPU time a process has used so far (/proc/&lt;pid&gt;/stat, in clock ticks of 10 ms).</summary>
    private static TimeSpan ProcessCpu(int pid)
    {
        // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    // Keeps `concurrency` unary calls in flight until `duration` is over; returns the number of failed calls.
    private static async Task<int> RunLoadAsync(Courtyard.Interop.V1.Interop.InteropClient client, int concurrency, TimeSpan duration, List<double>[]? latencies)
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
                    var reply = await client.EchoAsync(BenchRequest);
                    if (reply.Payload.Length != BenchRequest.Payload.Length)
                    {
                        throw new InvalidOperationException("the server answered a different reply");
                    }
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

    private static byte[] Frame(byte[] message)
    {
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    private static double Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(fraction * sorted.Length))];

    private static JsonObject BuildReport(List<Cell> cells, Settings settings, Dictionary<string, string> machine)
    {
        Cell? Find(string server, int concurrency) => cells.FirstOrDefault(c => c.Server == server && c.Concurrency == concurrency);
        var ratios = new JsonObject();
        foreach (int concurrency in settings.Concurrency)
        {
            var ours = Find("courtyard", concurrency)!;
            ratios[$"x{concurrency}"] = new JsonObject
            {
                ["courtyard/grpc-js"] = Math.Round(ours.CallsPerSecond / Find("grpc-js", concurrency)!.CallsPerSecond, 2),
                ["courtyard/kestrel"] = Math.Round(ours.CallsPerSecond / Find("kestrel", concurrency)!.CallsPerSecond, 2),
            };
        }
        var atTarget = ratios[$"x{TargetConcurrency}"];
        machine["loadAverageAtEnd"] = BenchMachine.LoadAverage();
        return new JsonObject
        {
            ["benchmark"] = "grpc unary Echo round trips (64-byte payload), Grpc.Net.Client on one HTTP/2 connection; each server its own process",
            ["date"] = DateTime.UtcNow.ToString("O"),
            ["machine"] = new JsonObject(machine.Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)pair.Value))),
            ["settings"] = new JsonObject
            {
                ["warmupSeconds"] = settings.Warmup.TotalSeconds,
                ["durationSeconds"] = settings.Duration.TotalSeconds,
                ["concurrency"] = new JsonArray(settings.Concurrency.Select(c => (JsonNode)c).ToArray()),
            },
            ["cells"] = new JsonArray(cells.Select(c => (JsonNode)new JsonObject
            {
                ["server"] = c.Server,
                ["concurrency"] = c.Concurrency,
                ["calls"] = c.Calls,
                ["errors"] = c.Errors,
                ["seconds"] = Math.Round(c.Seconds, 3),
                ["callsPerSecond"] = Math.Round(c.CallsPerSecond, 1),
                ["p50Ms"] = Math.Round(c.P50Ms, 3),
                ["p99Ms"] = Math.Round(c.P99Ms, 3),
                ["serverCpuMicrosecondsPerCall"] = Math.Round(c.ServerCpuMicroseconds, 1),
            }).ToArray()),
            ["ratios"] = ratios,
            ["targets"] = atTarget is null ? null : new JsonObject
            {
                [$"courtyard >= {TargetOverGrpcJs} x grpc-js at x{TargetConcurrency}"] = (double)atTarget["courtyard/grpc-js"]! >= TargetOverGrpcJs,
                [$"courtyard >= {TargetOverKestrel} x raw Kestrel at x{TargetConcurrency}"] = (double)atTarget["courtyard/kestrel"]! >= TargetOverKestrel,
            },
        };
    }

    private static void PrintTable(List<Cell> cells, JsonObject report)
    {
        Console.WriteLine();
        Console.WriteLine("| server    | in flight | calls/s | p50 ms | p99 ms | server CPU µs/call | errors |");
        Console.WriteLine("|-----------|----------:|--------:|-------:|-------:|-------------------:|-------:|");
        foreach (var cell in cells)
        {
            Console.WriteLine($"| {cell.Server,-9} | {cell.Concurrency,9} | {cell.CallsPerSecond,7:F0} | {cell.P50Ms,6:F2} | {cell.P99Ms,6:F2} | {cell.ServerCpuMicroseconds,18:F1} | {cell.Errors,6} |");
        }
        Console.WriteLine();
        var options = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        Console.WriteLine($"ratios: {report["ratios"]!.ToJsonString(options)}");
        Console.WriteLine($"targets met: {report["targets"]?.ToJsonString(options) ?? $"(no x{TargetConcurrency} cell)"}");
        Console.WriteLine($"machine: {report["machine"]!.ToJsonString(options)}");
    }

    private sealed record Cell(string Server, int Concurrency, int Calls, int Errors, double Seconds, double P50Ms, double P99Ms, double ServerCpuMicroseconds)
    {
        public double CallsPerSecond => Calls / Seconds;
    }

    private sealed record Settings(TimeSpan Warmup, TimeSpan Duration, int[] Concurrency, string OutputPath)
    {
        public static Settings Parse(string[] args) => new(
            TimeSpan.FromSeconds(double.Parse(Value(args, "--warmup-s") ?? "3", System.Globalization.CultureInfo.InvariantCulture)),
            TimeSpan.FromSeconds(double.Parse(Value(args, "--duration-s") ?? "10", System.Globalization.CultureInfo.InvariantCulture)),
            (Value(args, "--concurrency") ?? "1,32").Split(',').Select(int.Parse).ToArray(),
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

/// <summary>interop.proto's Echo with the least work per call, so the benchmark measures the host, not the handler.</summary>
public sealed class BenchInteropService : Courtyard.Interop.V1.Interop.InteropBase
{
    public override Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) =>
        Task.FromResult(new EchoReply { Text = request.Text, Payload = request.Payload });
}
