using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Courtyard.Grpc;

public static class GrpcKestrelExtensions
{
    /// <summary>
    /// Listens for cleartext HTTP/2 (h2c) only. Http1AndHttp2 without TLS would fall back to HTTP/1.1,
    /// which gRPC cannot use, so serve HTTP/1.1 traffic (web pages, Dapr callbacks) on another port.
    /// </summary>
    public static void ListenGrpc(this KestrelServerOptions options, IPAddress address, int port, Action<ListenOptions>? configure = null)
        => options.ListenGrpc(new IPEndPoint(address, port), configure);

    public static void ListenGrpc(this KestrelServerOptions options, IPEndPoint endPoint, Action<ListenOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Listen(endPoint, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            configure?.Invoke(listen);
        });
    }
}
