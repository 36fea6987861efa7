using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Courtyard.Grpc.Protocol;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;

namespace Courtyard.Grpc.Server;

/// <summary>
/// One server call: the context handed to handlers, plus the protocol work around them
/// (deadline, response headers, trailers or Trailers-Only, exception to status).
/// </summary>
internal abstract class HttpServerCall : ServerCallContext
{
    private readonly HttpContext _http;
    private readonly ServerMethodSettings _settings;
    private CancellationTokenSource? _deadlineSource;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private Dictionary<object, object>? _userState;
    private DateTime _deadline = DateTime.MaxValue;
    private Status _status = Status.DefaultSuccess;
    private bool _headersSent;

    protected HttpServerCall(HttpContext http, ServerMethodSettings settings)
    {
        _http = http;
        _settings = settings;
    }

    /// <summary>True once a message went into the response body: the status must then go in trailers.</summary>
    protected bool MessageWritten { get; set; }

    protected bool ResponseGzip { get; private set; }

    protected ServerMethodSettings Settings => _settings;

    public override string Method => _settings.Path;

    public override string Peer => FormatPeer(_http.Connection.RemoteIpAddress, _http.Connection.RemotePort);

    public override DateTime Deadline => _deadline;

    public override CancellationToken CancellationToken => _deadlineSource?.Token ?? _http.RequestAborted;

    public override Metadata RequestHeaders => _requestHeaders ??= ReadRequestHeaders(_http.Request.Headers);

    public override Metadata ResponseTrailers => _responseTrailers ??= new Metadata();

    public override Status Status { get => _status; set => _status = value; }

    public override HttpContext HttpContext => _http;

    public override IDictionary<object, object> UserState => _userState ??= new Dictionary<object, object>();

    protected PipeReader RequestBody => _http.Request.BodyReader;

    protected PipeWriter ResponseBody => _http.Response.BodyWriter;

    public override async Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        if (_headersSent || MessageWritten)
        {
            throw new InvalidOperationException("Response headers can only be sent once per call, before the first response message.");
        }
        AppendMetadata(_http.Response.Headers, responseHeaders);
        _headersSent = true;
        await ResponseBody.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Runs the call pipeline and ends the response with its status. Never throws.</summary>
    public async Task RunAsync(ServerCallContinuation pipeline, string? timeoutHeader, bool responseGzip)
    {
        using var activity = GrpcTelemetry.StartServerActivity(_settings);
        var response = _http.Response;
        response.ContentType = GrpcProtocol.ContentType;
        if (responseGzip)
        {
            ResponseGzip = true;
            response.Headers[GrpcProtocol.EncodingHeader] = GrpcProtocol.Gzip;
        }
        if (_settings.Type != MethodType.Unary)
        {
            AllowLongLivedStream(_http);
        }
        if (timeoutHeader is not null && GrpcTimeout.TryParse(timeoutHeader, out var timeout) && timeout < GrpcTimeout.Longest)
        {
            _deadline = DateTime.UtcNow + timeout;
            _deadlineSource = CancellationTokenSource.CreateLinkedTokenSource(_http.RequestAborted);
            _deadlineSource.Token.UnsafeRegister(static state => ((HttpServerCall)state!).ResponseBody.CancelPendingFlush(), this);
            _deadlineSource.CancelAfter(timeout);
        }

        Status status;
        try
        {
            await pipeline(this).ConfigureAwait(false);
            status = _status;
        }
        catch (Exception exception)
        {
            status = StatusFromException(exception);
        }

        if (DeadlineExceeded)
        {
            status = new Status(StatusCode.DeadlineExceeded, "Deadline exceeded");
        }
        _deadlineSource?.Dispose();
        if (activity is not null)
        {
            GrpcTelemetry.SetStatus(activity, status.Code);
        }
        if (!_http.RequestAborted.IsCancellationRequested)
        {
            WriteStatus(status);
        }
    }

    private bool DeadlineExceeded => _deadlineSource is { IsCancellationRequested: true } && !_http.RequestAborted.IsCancellationRequested;

    private Status StatusFromException(Exception exception)
    {
        switch (exception)
        {
            case RpcException rpc:
                foreach (var entry in rpc.Trailers)
                {
                    ResponseTrailers.Add(entry);
                }
                return rpc.Status;
            case OperationCanceledException when CancellationToken.IsCancellationRequested:
                return DeadlineExceeded
                    ? new Status(StatusCode.DeadlineExceeded, "Deadline exceeded")
                    : new Status(StatusCode.Cancelled, "Call cancelled by the client");
        }
        if (_settings.Options.TryMapException(exception, out var mapped))
        {
            return mapped;
        }
        _settings.Logger.LogError(exception, "Unhandled exception in gRPC handler {Method}", _settings.Path);
        return new Status(StatusCode.Unknown, "Exception was thrown by handler.");
    }

    private void WriteStatus(Status status)
    {
        try
        {
            var response = _http.Response;
            // Trailers-Only is decided by whether a message was written: HasStarted stays false until a flush.
            if (!MessageWritten && !_headersSent && !response.HasStarted)
            {
                var headers = response.Headers;
                headers[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusCodeString(status.Code);
                if (!string.IsNullOrEmpty(status.Detail))
                {
                    headers[GrpcProtocol.MessageHeader] = PercentEncoding.Encode(status.Detail);
                }
                if (_responseTrailers is not null)
                {
                    AppendMetadata(headers, _responseTrailers);
                }
                return;
            }
            var trailers = _http.Features.Get<IHttpResponseTrailersFeature>()?.Trailers
                ?? throw new InvalidOperationException("The server does not support trailers (gRPC needs HTTP/2).");
            trailers[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusCodeString(status.Code);
            if (!string.IsNullOrEmpty(status.Detail))
            {
                trailers[GrpcProtocol.MessageHeader] = PercentEncoding.Encode(status.Detail);
            }
            if (_responseTrailers is not null)
            {
                AppendMetadata(trailers, _responseTrailers);
            }
        }
        catch (Exception exception)
        {
            // A status we cannot write (invalid trailer values): reset the stream so the client does not see a silent OK.
            _settings.Logger.LogError(exception, "Could not write the status of gRPC call {Method}", _settings.Path);
            _http.Abort();
        }
    }

    protected void CheckNotCancelled()
    {
        var token = CancellationToken;
        if (token.IsCancellationRequested)
        {
            throw new OperationCanceledException(token);
        }
    }

    internal static void AppendMetadata(IHeaderDictionary headers, Metadata metadata)
    {
        foreach (var entry in metadata)
        {
            string value = entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes).TrimEnd('=') : entry.Value;
            headers.Append(entry.Key, value);
        }
    }

    private static Metadata ReadRequestHeaders(IHeaderDictionary headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers)
        {
            if (GrpcProtocol.IsReservedHeader(header.Key))
            {
                continue;
            }
            foreach (var value in header.Value)
            {
                if (value is not null)
                {
                    try
                    {
                        GrpcProtocol.AddWireHeader(metadata, header.Key, value);
                    }
                    catch (FormatException)
                    {
                        throw new RpcException(new Status(StatusCode.Internal, $"Invalid base64 in binary metadata '{header.Key}'."));
                    }
                }
            }
        }
        return metadata;
    }

    private static void AllowLongLivedStream(HttpContext http)
    {
        // Streams may be idle for minutes and carry more than Kestrel's 30 MB body default.
        var maxBody = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (maxBody is { IsReadOnly: false })
        {
            maxBody.MaxRequestBodySize = null;
        }
        var minRequestRate = http.Features.Get<IHttpMinRequestBodyDataRateFeature>();
        if (minRequestRate is not null)
        {
            minRequestRate.MinDataRate = null;
        }
        var minResponseRate = http.Features.Get<IHttpMinResponseDataRateFeature>();
        if (minResponseRate is not null)
        {
            minResponseRate.MinDataRate = null;
        }
    }

    private static string FormatPeer(IPAddress? address, int port) => address switch
    {
        null => "unknown",
        { AddressFamily: AddressFamily.InterNetworkV6 } => $"ipv6:[{address}]:{port}",
        _ => $"ipv4:{address}:{port}",
    };
}

/// <summary>A call of a method with request <typeparamref name="TRequest"/> and response <typeparamref name="TResponse"/>; it is also the request reader and response writer.</summary>
internal sealed class HttpServerCall<TRequest, TResponse> : HttpServerCall, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly MessageParser<TRequest> _parser;
    private readonly FrameReadSettings _readSettings;
    private TRequest? _current;

    public HttpServerCall(HttpContext http, ServerMethodSettings settings, MessageParser<TRequest> parser, bool requestGzip)
        : base(http, settings)
    {
        _parser = parser;
        _readSettings = new FrameReadSettings(settings.Options.MaxReceiveMessageSize, requestGzip, IsServer: true);
    }

    public TRequest Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    /// <summary>Unary and server-streaming calls: exactly one request message, then the end of the body.</summary>
    public async Task<TRequest> ReadSingleRequestAsync()
    {
        var token = CancellationToken;
        var request = await MessageFraming.ReadMessageAsync(RequestBody, _parser, _readSettings, token).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.Internal, "The request body has no message; a unary request needs exactly one."));
        if (await MessageFraming.ReadMessageAsync(RequestBody, _parser, _readSettings, token).ConfigureAwait(false) is not null)
        {
            throw new RpcException(new Status(StatusCode.Internal, "The request body has more than one message; a unary request needs exactly one."));
        }
        return request;
    }

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        var callToken = CancellationToken;
        CancellationTokenSource? linked = cancellationToken.CanBeCanceled && cancellationToken != callToken
            ? CancellationTokenSource.CreateLinkedTokenSource(callToken, cancellationToken)
            : null;
        try
        {
            _current = await MessageFraming.ReadMessageAsync(RequestBody, _parser, _readSettings, linked?.Token ?? callToken).ConfigureAwait(false);
            return _current is not null;
        }
        finally
        {
            linked?.Dispose();
        }
    }

    public IAsyncEnumerator<TRequest> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        => this.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    /// <summary>Server streaming: write and flush one message.</summary>
    public async Task WriteAsync(TResponse message)
    {
        ArgumentNullException.ThrowIfNull(message);
        CheckNotCancelled();
        WriteResponseMessage(message);
        // No token here: a cancelled token would leave the pipe in a state Kestrel cannot finish; deadlines use CancelPendingFlush.
        var result = await ResponseBody.FlushAsync().ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted)
        {
            CheckNotCancelled();
            throw new OperationCanceledException("The client is no longer reading the response stream.");
        }
    }

    /// <summary>Unary and client streaming: the single response goes into the body; the end of the call flushes it with the trailers.</summary>
    public void WriteResponseMessage(TResponse message)
    {
        MessageFraming.WriteMessage(ResponseBody, message, ResponseGzip, Settings.Options.MaxSendMessageSize);
        MessageWritten = true;
    }
}
