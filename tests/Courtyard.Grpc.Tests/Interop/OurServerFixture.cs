using Microsoft.Extensions.Logging;

namespace Courtyard.Grpc.Tests.Interop;

/// <summary>
/// Our server in-process (<see cref="GrpcTestServer"/>: h2c on 127.0.0.1, dynamic port, <see cref="InteropService"/>, health,
/// reflection v1 and v1alpha) for the grpc-js client to call: one instance with gzip responses, one without.
/// The second exists because a grpc-js client reports a non-OK status as soon as it arrives, dropping streamed messages
/// still being gunzipped (asynchronously) — see <see cref="GrpcJsClientTests"/>.
/// </summary>
public sealed class OurServerFixture : IAsyncLifetime
{
    private GrpcTestServer? _server;
    private GrpcTestServer? _uncompressedServer;

    public RequestEncodingObserver Encodings { get; } = new();

    public GrpcTestServer Server => _server ?? throw new InvalidOperationException("not started");

    /// <summary>host:port (as grpc-js wants it) of the instance that gzips responses for clients accepting gzip.</summary>
    public string Target => $"127.0.0.1:{Server.Address.Port}";

    /// <summary>host:port of the instance that never compresses responses.</summary>
    public string UncompressedTarget => $"127.0.0.1:{(_uncompressedServer ?? throw new InvalidOperationException("not started")).Address.Port}";

    public async Task InitializeAsync()
    {
        await NodePeers.EnsureInstalledAsync();
        _server = await GrpcTestServer.StartAsync(options =>
        {
            options.ResponseCompression = "gzip";
            options.Interceptors.Add(Encodings);
        });
        _uncompressedServer = await GrpcTestServer.StartAsync(options => options.ResponseCompression = null);
    }

    /// <summary>Our server's recent warnings and errors, for failure messages.</summary>
    public string LoggedProblems()
    {
        var problems = Server.Logs.Records.Where(r => r.Level >= LogLevel.Warning)
            .Select(r => $"[{r.Level}] {r.Category}: {r.Message} {r.Exception?.GetType().Name} {r.Exception?.Message}").TakeLast(20).ToList();
        return problems.Count == 0 ? "(nothing)" : string.Join(Environment.NewLine, problems);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        if (_uncompressedServer is not null)
        {
            await _uncompressedServer.DisposeAsync();
        }
    }
}
