using System.Net;
using Courtyard.Grpc.Protocol;

namespace Courtyard.Grpc.Client;

/// <summary>The body of a unary or server-streaming request: one framed message, serialized before sending (so it can be re-sent on a retried stream).</summary>
internal sealed class SingleMessageContent : HttpContent
{
    private readonly PooledBufferWriter _frame;

    public SingleMessageContent(PooledBufferWriter frame)
    {
        _frame = frame;
        Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => stream.WriteAsync(_frame.WrittenMemory).AsTask();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        => stream.WriteAsync(_frame.WrittenMemory, cancellationToken).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = _frame.WrittenCount;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _frame.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// The body of a client-streaming or duplex request: HttpClient hands us its request stream and waits until we complete;
/// meanwhile the call's request writer writes frames into that stream.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StreamingRequestContent() => Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);

    public Task<Stream> StreamAsync => _stream.Task;

    /// <summary>Ends the request body (END_STREAM, the client's half-close).</summary>
    public void Complete() => _completed.TrySetResult();

    /// <summary>
    /// The call is over: pending and future writes fail, and the body fails rather than ends, so HttpClient resets the
    /// stream instead of sending END_STREAM (a clean half-close would let the server finish the call as if nothing happened).
    /// </summary>
    public void Abort(Exception reason)
    {
        _stream.TrySetException(reason);
        _completed.TrySetException(reason);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), _completed);
        }
        return _completed.Task;
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
