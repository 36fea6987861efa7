namespace Courtyard.ServiceDefaults.Tests.Grpc.Interop;

/// <summary>
/// Two hosts of <see cref="InteropService"/> built with ServiceDefaults for the grpc-js client to call: one as every
/// service runs by default (responses uncompressed), one with <c>Courtyard:Grpc:ResponseCompression=gzip</c>.
/// </summary>
public sealed class OurServerFixture : IAsyncLifetime
{
    private InteropTestServer? _server;
    private InteropTestServer? _gzipServer;

    public InteropTestServer Server => _server ?? throw new InvalidOperationException("not started");

    public InteropTestServer GzipServer => _gzipServer ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        await NodePeers.EnsureInstalledAsync();
        _server = await InteropTestServer.StartAsync();
        _gzipServer = await InteropTestServer.StartAsync(new() { [ServiceGrpcExtensions.ResponseCompressionKey] = "gzip" });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        if (_gzipServer is not null)
        {
            await _gzipServer.DisposeAsync();
        }
    }
}
