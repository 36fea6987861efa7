namespace Courtyard.Grpc;

/// <summary>Client-side settings for a <see cref="GrpcChannel"/>.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>Largest response message accepted (after decompression); larger ones fail the call with RESOURCE_EXHAUSTED. Default 4 MiB; null = unlimited.</summary>
    public int? MaxReceiveMessageSize { get; set; } = Protocol.GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest request message sent (RESOURCE_EXHAUSTED beyond, nothing sent); null = unlimited (default).</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>"gzip" to compress every request message; null (default) = no compression. Responses in gzip are always accepted.</summary>
    public string? RequestCompression { get; set; }

    /// <summary>Handler to send requests with; default a SocketsHttpHandler tuned for gRPC. Not disposed by the channel unless it created it.</summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>An HttpClient to send requests with (its BaseAddress and Timeout are ignored); not disposed by the channel.</summary>
    public HttpClient? HttpClient { get; set; }
}

/// <summary>Per-call settings: metadata to send, deadline (UTC) and cancellation.</summary>
public readonly struct CallOptions
{
    public CallOptions(Metadata? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
    {
        Headers = headers;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    public Metadata? Headers { get; }

    /// <summary>UTC time after which the call fails with DEADLINE_EXCEEDED (sent as grpc-timeout; the server sees it too).</summary>
    public DateTime? Deadline { get; }

    /// <summary>Cancelling resets the HTTP/2 stream; the call fails with CANCELLED and the server's handler is cancelled.</summary>
    public CancellationToken CancellationToken { get; }

    public CallOptions WithHeaders(Metadata? headers) => new(headers, Deadline, CancellationToken);

    public CallOptions WithDeadline(DateTime? deadline) => new(Headers, deadline, CancellationToken);

    public CallOptions WithCancellationToken(CancellationToken cancellationToken) => new(Headers, Deadline, cancellationToken);
}
