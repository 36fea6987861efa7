using System.Runtime.CompilerServices;

namespace Courtyard.Grpc;

/// <summary>Shared parts of a running client call. Dispose cancels the call if it is still running.</summary>
public abstract class ClientCallBase : IDisposable
{
    private readonly Func<Task<Metadata>> _responseHeaders;
    private readonly Func<Status> _status;
    private readonly Func<Metadata> _trailers;
    private readonly Action _dispose;
    private Task<Metadata>? _headersTask;

    private protected ClientCallBase(Func<Task<Metadata>> responseHeaders, Func<Status> status, Func<Metadata> trailers, Action dispose)
    {
        _responseHeaders = responseHeaders;
        _status = status;
        _trailers = trailers;
        _dispose = dispose;
    }

    /// <summary>The server's response headers (custom metadata); fails with the call's RpcException if the call fails first.</summary>
    public Task<Metadata> ResponseHeadersAsync => _headersTask ??= _responseHeaders();

    /// <summary>The final status; only once the call has finished.</summary>
    public Status GetStatus() => _status();

    /// <summary>The trailers; only once the call has finished.</summary>
    public Metadata GetTrailers() => _trailers();

    public void Dispose() => _dispose();
}

public sealed class AsyncUnaryCall<TResponse> : ClientCallBase
{
    internal AsyncUnaryCall(Task<TResponse> responseAsync, Func<Task<Metadata>> responseHeaders, Func<Status> status, Func<Metadata> trailers, Action dispose)
        : base(responseHeaders, status, trailers, dispose) => ResponseAsync = responseAsync;

    public Task<TResponse> ResponseAsync { get; }

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();
}

public sealed class AsyncServerStreamingCall<TResponse> : ClientCallBase
{
    internal AsyncServerStreamingCall(IAsyncStreamReader<TResponse> responseStream, Func<Task<Metadata>> responseHeaders, Func<Status> status, Func<Metadata> trailers, Action dispose)
        : base(responseHeaders, status, trailers, dispose) => ResponseStream = responseStream;

    public IAsyncStreamReader<TResponse> ResponseStream { get; }
}

public sealed class AsyncClientStreamingCall<TRequest, TResponse> : ClientCallBase
{
    internal AsyncClientStreamingCall(IClientStreamWriter<TRequest> requestStream, Task<TResponse> responseAsync, Func<Task<Metadata>> responseHeaders, Func<Status> status, Func<Metadata> trailers, Action dispose)
        : base(responseHeaders, status, trailers, dispose)
    {
        RequestStream = requestStream;
        ResponseAsync = responseAsync;
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    public Task<TResponse> ResponseAsync { get; }

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();
}

public sealed class AsyncDuplexStreamingCall<TRequest, TResponse> : ClientCallBase
{
    internal AsyncDuplexStreamingCall(IClientStreamWriter<TRequest> requestStream, IAsyncStreamReader<TResponse> responseStream, Func<Task<Metadata>> responseHeaders, Func<Status> status, Func<Metadata> trailers, Action dispose)
        : base(responseHeaders, status, trailers, dispose)
    {
        RequestStream = requestStream;
        ResponseStream = responseStream;
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    public IAsyncStreamReader<TResponse> ResponseStream { get; }
}
