using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Courtyard.Testing;

/// <summary>
/// A Redis server of the test's own (Debian's redis-server, installed by <c>scripts/redis.sh install</c> when missing) on
/// a free port of 127.0.0.1, in a temp folder, without persistence. Disposing shuts it down and deletes the folder.
/// </summary>
public sealed class TestRedis : IAsyncDisposable
{
    private readonly string _directory;

    private TestRedis(int port, string directory)
    {
        Port = port;
        _directory = directory;
    }

    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string, e.g. "127.0.0.1:40123".</summary>
    public string ConnectionString => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public static async Task<TestRedis> StartAsync()
    {
        if (!File.Exists("/usr/bin/redis-server") && !File.Exists("/usr/local/bin/redis-server"))
        {
            await TestScripts.RunAsync("redis.sh", "install");
        }
        string directory = Path.Combine(Path.GetTempPath(), "courtyard-test-redis", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        int port = FreePort();
        string portText = port.ToString(CultureInfo.InvariantCulture);
        var started = await ChildProcess.RunToEndAsync("redis-server",
            ["--port", portText, "--bind", "127.0.0.1", "--daemonize", "yes", "--dir", directory, "--save", "", "--appendonly", "no",
             "--pidfile", Path.Combine(directory, "redis.pid"), "--logfile", Path.Combine(directory, "redis.log")],
            directory, TimeSpan.FromSeconds(30));
        if (started.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-server on port {port} did not start ({started.ExitCode}): {started.StandardError}");
        }
        var redis = new TestRedis(port, directory);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await ChildProcess.RunToEndAsync("redis-cli", ["-p", portText, "ping"], directory, TimeSpan.FromSeconds(10))).StandardOutput.Trim() != "PONG")
        {
            if (DateTime.UtcNow > deadline)
            {
                await redis.DisposeAsync();
                throw new TimeoutException($"redis-server on port {port} does not answer PING; see {directory}/redis.log");
            }
            await Task.Delay(50);
        }
        return redis;
    }

    public async ValueTask DisposeAsync()
    {
        await ChildProcess.RunToEndAsync("redis-cli", ["-p", Port.ToString(CultureInfo.InvariantCulture), "shutdown", "nosave"], null, TimeSpan.FromSeconds(10));
        try
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
