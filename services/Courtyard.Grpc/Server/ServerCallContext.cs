using Microsoft.AspNetCore.Http;

namespace Courtyard.Grpc;

/// <summary>Everything a handler knows about the call it serves.</summary>
public abstract class ServerCallContext
{
    /// <summary>The method's path, e.g. "/courtyard.interop.v1.Interop/Echo".</summary>
    public abstract string Method { get; }

    /// <summary>The caller's address, e.g. "ipv4:127.0.0.1:53012".</summary>
    public abstract string Peer { get; }

    /// <summary>UTC deadline from grpc-timeout; <see cref="DateTime.MaxValue"/> when the client set none.</summary>
    public abstract DateTime Deadline { get; }

    /// <summary>Fires when the deadline passes or the client cancels (RST_STREAM) or disconnects.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>Custom request metadata (protocol headers such as te, content-type and grpc-* are left out).</summary>
    public abstract Metadata RequestHeaders { get; }

    /// <summary>Trailers sent with the final status.</summary>
    public abstract Metadata ResponseTrailers { get; }

    /// <summary>The status the call ends with when the handler returns normally (default OK).</summary>
    public abstract Status Status { get; set; }

    /// <summary>The underlying ASP.NET Core request (escape hatch: user, connection, features).</summary>
    public abstract HttpContext HttpContext { get; }

    /// <summary>Per-call bag for interceptors and handlers to pass things along.</summary>
    public abstract IDictionary<object, object> UserState { get; }

    /// <summary>Sends response headers now (at most once, before the first response message).</summary>
    public abstract Task WriteResponseHeadersAsync(Metadata responseHeaders);
}
