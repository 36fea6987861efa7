using System.Net;
using System.Text.Json;
using Courtyard.Testing;

namespace Courtyard.Grpc.Tests.Interop;

/// <summary>
/// tests/Interop/server.js, the @grpc/grpc-js 1.14 server, as a child process on 127.0.0.1 with a dynamic port.
/// It reports what it observed of calls tagged with x-call-id as JSON lines on stdout (see server.js).
/// </summary>
public sealed class NodeServerFixture : IAsyncLifetime
{
    private ChildProcess? _server;

    public int Port { get; private set; }

    /// <summary>server.js's second listener: Echo answered with gzip-compressed replies by node:zlib.</summary>
    public int GzipEchoPort { get; private set; }

    public string Address => $"http://127.0.0.1:{Port}";

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public async Task InitializeAsync()
    {
        await NodePeers.EnsureInstalledAsync();
        _server = ChildProcess.Start("node", ["server.js", "--port", "0"], NodePeers.Directory);
        var ready = await _server.WaitForJsonLineAsync(line => line.TryGetProperty("port", out _), TimeSpan.FromSeconds(30));
        Port = ready.GetProperty("port").GetInt32();
        GzipEchoPort = ready.GetProperty("gzipEchoPort").GetInt32();
    }

    /// <summary>Waits for the grpc-js server's report of <paramref name="eventName"/> ("call", "cancelled") for a tagged call.</summary>
    public Task<JsonElement> WaitForEventAsync(string callId, string eventName, TimeSpan timeout) =>
        _server!.WaitForJsonLineAsync(
            line => line.TryGetProperty("event", out var name) && name.GetString() == eventName
                && line.TryGetProperty("callId", out var id) && id.GetString() == callId,
            timeout);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
