using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Courtyard.Grpc.Protocol;
using Courtyard.Grpc.Server;
using Google.Protobuf;

namespace Courtyard.Grpc.Client;

/// <summary>
/// One client call of any kind over HttpClient: sends the request, reads headers (or a Trailers-Only status), messages and
/// trailers, and turns every failure into a <see cref="RpcException"/> with the call's status.
/// </summary>
internal sealed class ClientCall<TRequest, TResponse> : IAsyncStreamReader<TResponse>, IClientStreamWriter<TRequest>, IDisposable
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _cancellation;
    private readonly Activity? _activity;
    private HttpRequestMessage? _request;
    private StreamingRequestContent? _streamingContent;
    private PooledBufferWriter? _writeBuffer;
    private Task<HttpResponseMessage>? _responseTask;
    private HttpResponseMessage? _response;
    private PipeReader? _body;
    private FrameReadSettings _readSettings;
    private Outcome? _outcome;
    private TResponse? _current;
    private bool _requestCompleted;
    private bool _disposed;

    public ClientCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
        _cancellation = options.CancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken)
            : new CancellationTokenSource();
        _activity = GrpcTelemetry.StartClientActivity(method);
        // Once the response headers are in, cancelling SendAsync's token no longer resets the stream: disposing the response does.
        _cancellation.Token.UnsafeRegister(static state => ((ClientCall<TRequest, TResponse>)state!)._response?.Dispose(), this);
    }

    public TResponse Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    public bool IsComplete => _outcome is not null;

    /// <summary>Unary and server streaming: the request is one message, serialized now.</summary>
    public void Start(TRequest message)
    {
        var frame = new PooledBufferWriter(message.CalculateSize() + GrpcProtocol.FrameHeaderSize);
        try
        {
            MessageFraming.WriteMessage(frame, message, _channel.RequestGzip, _channel.MaxSendMessageSize);
        }
        catch (RpcException exception)
        {
            frame.Dispose();
            Finish(exception.Status, null);
            _responseTask = Task.FromException<HttpResponseMessage>(exception);
            return;
        }
        Send(new SingleMessageContent(frame));
    }

    /// <summary>Client streaming and duplex: the request body stays open for <see cref="WriteAsync"/>.</summary>
    public void StartStreaming()
    {
        _streamingContent = new StreamingRequestContent();
        Send(_streamingContent);
    }

    private void Send(HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _channel.UriFor(_method))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact, // defaults do not apply to SendAsync: set on every request
            Content = content,
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation(GrpcProtocol.TeHeader, "trailers");
        headers.TryAddWithoutValidation("user-agent", GrpcChannel.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.SupportedEncodings);
        if (_channel.RequestGzip)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, GrpcProtocol.Gzip);
        }
        if (_options.Headers is { } metadata)
        {
            foreach (var entry in metadata)
            {
                headers.TryAddWithoutValidation(entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes).TrimEnd('=') : entry.Value);
            }
        }
        _request = request;
        if (_options.Deadline is DateTime deadline && deadline != DateTime.MaxValue)
        {
            var timeout = deadline.ToUniversalTime() - DateTime.UtcNow;
            if (timeout <= TimeSpan.Zero)
            {
                var exception = Fail(new Status(StatusCode.DeadlineExceeded, "Deadline exceeded before the call started"));
                _responseTask = Task.FromException<HttpResponseMessage>(exception);
                return;
            }
            if (timeout < GrpcTimeout.Longest)
            {
                headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(timeout));
                _cancellation.CancelAfter(timeout);
            }
        }
        _responseTask = ReceiveHeadersAsync(request);
    }

    private async Task<HttpResponseMessage> ReceiveHeadersAsync(HttpRequestMessage request)
    {
        HttpResponseMessage response;
        try
        {
            response = await _channel.SendAsync(request, _cancellation.Token).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            throw Fail(StatusFromException(exception, "Error starting gRPC call"));
        }
        _response = response;
        if (_cancellation.IsCancellationRequested)
        {
            response.Dispose();
        }
        try
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                string? detail = HeaderValue(response.Headers, GrpcProtocol.MessageHeader);
                throw Fail(new Status(GrpcProtocol.FromHttpStatus(response.StatusCode),
                    $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}." + (detail is null ? "" : " " + PercentEncoding.Decode(detail))));
            }
            if (HeaderValue(response.Headers, GrpcProtocol.StatusHeader) is { } trailersOnlyStatus)
            {
                Finish(new Status(GrpcProtocol.ParseStatusCode(trailersOnlyStatus), PercentEncoding.Decode(HeaderValue(response.Headers, GrpcProtocol.MessageHeader))),
                    ToMetadata(response.Headers));
                return response;
            }
            string? contentType = HeaderValue(response.Content.Headers, "content-type");
            if (!GrpcProtocol.IsGrpcContentType(contentType))
            {
                throw Fail(new Status(StatusCode.Internal, $"Bad gRPC response. Invalid content-type '{contentType}'."));
            }
            string? encoding = HeaderValue(response.Headers, GrpcProtocol.EncodingHeader);
            bool gzip = encoding is not null && encoding.Equals(GrpcProtocol.Gzip, StringComparison.OrdinalIgnoreCase);
            if (!gzip && encoding is not null && !encoding.Equals(GrpcProtocol.Identity, StringComparison.OrdinalIgnoreCase))
            {
                throw Fail(new Status(StatusCode.Internal, $"The server used grpc-encoding '{encoding}', which this client does not support."));
            }
            _readSettings = new FrameReadSettings(_channel.MaxReceiveMessageSize, gzip, IsServer: false);
            var stream = await response.Content.ReadAsStreamAsync(_cancellation.Token).ConfigureAwait(false);
            _body = PipeReader.Create(stream, new StreamPipeReaderOptions(minimumReadSize: 4096, leaveOpen: true));
            return response;
        }
        catch (RpcException)
        {
            throw;
        }
        catch (Exception exception)
        {
            throw Fail(StatusFromException(exception, "Error reading gRPC response headers"));
        }
    }

    public async Task<Metadata> GetResponseHeadersAsync()
    {
        var response = await _responseTask!.ConfigureAwait(false);
        return ToMetadata(response.Headers);
    }

    /// <summary>Unary and client streaming: exactly one response message, then an OK status.</summary>
    public async Task<TResponse> GetResponseAsync()
    {
        await _responseTask!.ConfigureAwait(false);
        if (_outcome is { } early)
        {
            throw early.Status.Code == StatusCode.OK
                ? Fail(new Status(StatusCode.Internal, "The server ended the call with OK but sent no response message."), force: true)
                : early.ToException();
        }
        var response = await ReadAsync().ConfigureAwait(false);
        var extra = response is null ? null : await ReadAsync().ConfigureAwait(false);
        var outcome = _outcome ?? FinishFromTrailers();
        if (outcome.Status.Code != StatusCode.OK)
        {
            throw outcome.ToException();
        }
        if (response is null || extra is not null)
        {
            throw Fail(new Status(StatusCode.Internal, response is null
                ? "The server ended the call with OK but sent no response message."
                : "The server sent more than one response message for a unary call."), force: true);
        }
        return response;
    }

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        await _responseTask!.ConfigureAwait(false);
        if (_outcome is { } done)
        {
            return done.Status.Code == StatusCode.OK ? false : throw done.ToException();
        }
        CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _cancellation)
            : default;
        try
        {
            _current = await ReadAsync().ConfigureAwait(false);
        }
        finally
        {
            registration.Dispose();
        }
        if (_current is not null)
        {
            return true;
        }
        var outcome = _outcome ?? FinishFromTrailers();
        return outcome.Status.Code == StatusCode.OK ? false : throw outcome.ToException();
    }

    public IAsyncEnumerator<TResponse> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        => this.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    private async Task<TResponse?> ReadAsync()
    {
        try
        {
            return await MessageFraming.ReadMessageAsync(_body!, _method.ResponseParser, _readSettings, _cancellation.Token).ConfigureAwait(false);
        }
        catch (RpcException exception)
        {
            // A protocol violation by the server (or our receive limit): stop the stream.
            var failure = Fail(exception.Status);
            _cancellation.Cancel();
            throw failure;
        }
        catch (Exception exception)
        {
            throw Fail(StatusFromException(exception, "Error reading the gRPC response"));
        }
    }

    private Outcome FinishFromTrailers()
    {
        var trailers = _response!.TrailingHeaders; // filled only once the body has been read to its end
        string? code = HeaderValue(trailers, GrpcProtocol.StatusHeader);
        var status = code is null
            ? new Status(StatusCode.Internal, "The response ended without a grpc-status trailer.")
            : new Status(GrpcProtocol.ParseStatusCode(code), PercentEncoding.Decode(HeaderValue(trailers, GrpcProtocol.MessageHeader)));
        Finish(status, ToMetadata(trailers));
        return _outcome!;
    }

    public async Task WriteAsync(TRequest message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var content = _streamingContent ?? throw new InvalidOperationException("This call has no request stream.");
        if (_requestCompleted)
        {
            throw new InvalidOperationException("The request stream has already been completed.");
        }
        if (_outcome is { } finished)
        {
            throw finished.Status.Code == StatusCode.OK ? new InvalidOperationException("The call has already finished.") : finished.ToException();
        }
        var buffer = _writeBuffer ??= new PooledBufferWriter();
        buffer.Clear();
        MessageFraming.WriteMessage(buffer, message, _channel.RequestGzip, _channel.MaxSendMessageSize);
        try
        {
            var stream = await content.StreamAsync.ConfigureAwait(false);
            await stream.WriteAsync(buffer.WrittenMemory, _cancellation.Token).ConfigureAwait(false);
            await stream.FlushAsync(_cancellation.Token).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (Exception exception)
        {
            if (_outcome is { } outcome && outcome.Status.Code != StatusCode.OK)
            {
                throw outcome.ToException();
            }
            throw Fail(StatusFromException(exception, "Error writing a gRPC request message"));
        }
    }

    public Task CompleteAsync()
    {
        if (!_requestCompleted)
        {
            _requestCompleted = true;
            _streamingContent?.Complete();
        }
        return Task.CompletedTask;
    }

    public Status GetStatus() => _outcome?.Status ?? throw new InvalidOperationException("The call has not finished yet.");

    public Metadata GetTrailers() => _outcome?.Trailers ?? throw new InvalidOperationException("The call has not finished yet.");

    /// <summary>Cancels the call if it is still running (the HTTP/2 stream is reset) and releases its resources.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_outcome is null)
        {
            _cancellation.Cancel(); // first: the stream must be reset before the request body is failed
            Finish(new Status(StatusCode.Cancelled, "Call disposed"), null);
        }
        _response?.Dispose();
        _request?.Dispose();
        _writeBuffer?.Dispose();
        _cancellation.Dispose();
    }

    private RpcException Fail(Status status, bool force = false)
    {
        if (force)
        {
            // The server said OK but broke the call's contract: what the caller sees is this error, with the server's trailers.
            var previous = _outcome;
            _outcome = new Outcome(status, previous?.Trailers ?? new Metadata());
            return _outcome.ToException();
        }
        Finish(status, null);
        return _outcome!.ToException();
    }

    /// <summary>Records the final status once (the first one wins, also across threads).</summary>
    private void Finish(Status status, Metadata? trailers)
    {
        var outcome = new Outcome(status, trailers ?? new Metadata());
        if (Interlocked.CompareExchange(ref _outcome, outcome, null) is not null)
        {
            return;
        }
        _streamingContent?.Abort(outcome.ToException());
        if (_activity is not null)
        {
            GrpcTelemetry.SetStatus(_activity, status.Code);
            _activity.Dispose();
        }
    }

    private Status StatusFromException(Exception exception, string what)
    {
        if (_cancellation.IsCancellationRequested)
        {
            bool byCaller = _options.CancellationToken.IsCancellationRequested || _disposed;
            return byCaller || _options.Deadline is null
                ? new Status(StatusCode.Cancelled, "Call cancelled")
                : new Status(StatusCode.DeadlineExceeded, "Deadline exceeded");
        }
        for (var inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpProtocolException protocol)
            {
                return new Status(protocol.ErrorCode switch
                {
                    0x7 => StatusCode.Unavailable,       // REFUSED_STREAM
                    0x8 => StatusCode.Cancelled,         // CANCEL
                    0xb => StatusCode.ResourceExhausted, // ENHANCE_YOUR_CALM
                    0xc => StatusCode.PermissionDenied,  // INADEQUATE_SECURITY
                    _ => StatusCode.Internal,
                }, $"{what}: the server reset the stream ({protocol.Message})");
            }
        }
        return exception is HttpRequestException or IOException
            ? new Status(StatusCode.Unavailable, $"{what}: {exception.Message}")
            : new Status(StatusCode.Internal, $"{what}: {exception.GetType().Name}: {exception.Message}");
    }

    private static string? HeaderValue(HttpHeaders headers, string name)
    {
        if (headers.NonValidated.TryGetValues(name, out var values))
        {
            foreach (var value in values)
            {
                return value;
            }
        }
        return null;
    }

    private static Metadata ToMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers.NonValidated)
        {
            if (GrpcProtocol.IsReservedHeader(header.Key) || header.Key.Equals("date", StringComparison.OrdinalIgnoreCase)
                || header.Key.Equals("server", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            foreach (var value in header.Value)
            {
                try
                {
                    GrpcProtocol.AddWireHeader(metadata, header.Key, value);
                }
                catch (FormatException)
                {
                    // A malformed -bin value from the server is dropped rather than failing the call.
                }
            }
        }
        return metadata;
    }

    private sealed record Outcome(Status Status, Metadata Trailers)
    {
        public RpcException ToException() => new(Status, Trailers);
    }
}
