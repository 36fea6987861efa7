using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Courtyard.Grpc;
using Grpc.Health.V1;

namespace Platform.Host.Tests;

/// <summary>The real executable, as `dotnet run --project services/Platform.Host` starts it, stopped with SIGTERM.</summary>
public sealed partial class HostProcessTests
{
    [Fact]
    public async Task The_executable_prints_its_addresses_serves_grpc_and_stops_cleanly_on_sigterm()
    {
        string dataDir = RunningHost.NewDataDir();
        using var process = StartHost("--grpc-port", "0", "--http-port", "0", "--data-dir", dataDir);
        var lines = new ProcessLines(process);
        try
        {
            string grpcLine = await lines.WaitForAsync(line => line.StartsWith("gRPC (h2c): ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            await lines.WaitForAsync(line => line.StartsWith("data: ", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
            Assert.Matches(AddressLine(), grpcLine);
            Assert.True(System.IO.Directory.Exists(dataDir));

            using (var channel = GrpcChannel.ForAddress(grpcLine["gRPC (h2c): ".Length..]))
            {
                var check = Method.Create<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor, "Health", "Check");
                var reply = await channel.UnaryAsync(check, new HealthCheckRequest(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)));
                Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
            }

            SendSigterm(process.Id);
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);

            Assert.Equal(0, process.ExitCode);
            Assert.Contains(lines.Snapshot(), line => line.Contains("已停止。Stopped.", StringComparison.Ordinal));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
            RunningHost.TryDelete(Path.GetDirectoryName(dataDir)!);
        }
    }

    [Fact]
    public async Task With_an_otlp_endpoint_set_grpc_calls_are_exported_as_traces()
    {
        int collectorPort = FreePort();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{collectorPort}/");
        collector.Start();
        var firstTraceExport = WaitForPostAsync(collector, "/v1/traces");

        string dataDir = RunningHost.NewDataDir();
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{collectorPort}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        };
        using var process = StartHost(environment, "--grpc-port", "0", "--http-port", "0", "--data-dir", dataDir);
        var lines = new ProcessLines(process);
        try
        {
            string grpcLine = await lines.WaitForAsync(line => line.StartsWith("gRPC (h2c): ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            using (var channel = GrpcChannel.ForAddress(grpcLine["gRPC (h2c): ".Length..]))
            {
                var check = Method.Create<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor, "Health", "Check");
                await channel.UnaryAsync(check, new HealthCheckRequest(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)));
            }

            var winner = await Task.WhenAny(firstTraceExport, Task.Delay(TimeSpan.FromSeconds(20)));

            Assert.True(winner == firstTraceExport, "no trace export reached the collector within 20 s");
            byte[] body = await firstTraceExport;
            // The OTLP payload is protobuf; strings (span name, resource attributes) are in it as plain UTF-8.
            Assert.Contains("courtyard-platform", System.Text.Encoding.UTF8.GetString(body));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
            RunningHost.TryDelete(Path.GetDirectoryName(dataDir)!);
        }
    }

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Answers every request 200 and completes with the body of the first POST to <paramref name="path"/> that mentions a gRPC method.</summary>
    private static async Task<byte[]> WaitForPostAsync(HttpListener listener, string path)
    {
        while (true)
        {
            var context = await listener.GetContextAsync();
            using var buffer = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(buffer);
            context.Response.StatusCode = 200;
            context.Response.Close();
            byte[] body = buffer.ToArray();
            if (context.Request.HttpMethod == "POST" && context.Request.Url?.AbsolutePath == path
                && System.Text.Encoding.UTF8.GetString(body).Contains("grpc.health.v1.Health/Check", StringComparison.Ordinal))
            {
                return body;
            }
        }
    }

    [GeneratedRegex(@"^gRPC \(h2c\): http://127\.0\.0\.1:\d+$")]
    private static partial Regex AddressLine();

    private static Process StartHost(params string[] args) => StartHost(new Dictionary<string, string>(), args);

    private static Process StartHost(Dictionary<string, string> environment, params string[] args)
    {
        // The host's build output sits next to the tests' (project reference), runtimeconfig included.
        string hostDll = Path.Combine(AppContext.BaseDirectory, "Platform.Host.dll");
        Assert.True(File.Exists(hostDll), $"missing {hostDll}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(hostDll);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        return Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
    }

    private static void SendSigterm(int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Collects stdout and stderr lines as they come, so a test can wait for one.</summary>
    private sealed class ProcessLines
    {
        private readonly List<string> _lines = new();
        private readonly SemaphoreSlim _arrived = new(0);

        public ProcessLines(Process process)
        {
            process.OutputDataReceived += (_, e) => Add(e.Data);
            process.ErrorDataReceived += (_, e) => Add(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        private void Add(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_lines)
            {
                _lines.Add(line);
            }
            _arrived.Release();
        }

        public List<string> Snapshot()
        {
            lock (_lines)
            {
                return new List<string>(_lines);
            }
        }

        public async Task<string> WaitForAsync(Func<string, bool> match, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                var found = Snapshot().FirstOrDefault(match);
                if (found is not null)
                {
                    return found;
                }
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !await _arrived.WaitAsync(left))
                {
                    throw new TimeoutException("The host did not print the expected line. Output so far:\n" + string.Join("\n", Snapshot()));
                }
            }
        }
    }
}
