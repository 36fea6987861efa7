using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// The two addresses a service actually listens on. Read after the host started: with port 0 Kestrel binds a free
/// port and updates its listen options, which these properties read.
/// </summary>
public sealed class ServiceEndpoints
{
    internal ListenOptions? GrpcListen { get; set; }
    internal ListenOptions? HttpListen { get; set; }

    /// <summary>The h2c gRPC endpoint.</summary>
    public IPEndPoint Grpc => GrpcListen?.IPEndPoint ?? throw NotConfigured();

    /// <summary>The HTTP/1.1 endpoint.</summary>
    public IPEndPoint Http => HttpListen?.IPEndPoint ?? throw NotConfigured();

    /// <summary>e.g. http://127.0.0.1:5100, for GrpcChannel.ForAddress.</summary>
    public Uri GrpcAddress => ToUri(Grpc);

    public Uri HttpAddress => ToUri(Http);

    private static Uri ToUri(IPEndPoint endPoint) => new($"http://{endPoint}");

    private static InvalidOperationException NotConfigured() =>
        new("Kestrel has not been configured yet: read ServiceEndpoints after the host has started.");
}
