using System.Collections.Concurrent;

namespace Courtyard.Grpc.Tests.Interop;

/// <summary>What our server saw of one call the interop client tagged with an x-call-id header.</summary>
public sealed class ObservedCall
{
    public required string Method { get; init; }

    public required DateTime Deadline { get; init; }

    public required DateTime StartedUtc { get; init; }

    /// <summary>The grpc-encoding request header, or null when the client sent messages uncompressed.</summary>
    public required string? RequestEncoding { get; init; }

    /// <summary>Set when the call's CancellationToken fired while the handler was still running.</summary>
    public TaskCompletionSource CancellationObserved { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// An interceptor that records, per x-call-id, what our server observed: the deadline it derived from grpc-timeout,
/// the request encoding, and whether the call was cancelled while its handler ran (client RST_STREAM or deadline).
/// </summary>
public sealed class CallObserver : Interceptor
{
    private readonly ConcurrentDictionary<string, ObservedCall> _calls = new();

    public override async Task InvokeAsync(ServerCallContext context, ServerCallContinuation next)
    {
        string? callId = context.RequestHeaders.GetValue("x-call-id");
        if (callId is null)
        {
            await next(context);
            return;
        }
        string? encoding = context.HttpContext.Request.Headers["grpc-encoding"];
        var call = new ObservedCall { Method = context.Method, Deadline = context.Deadline, StartedUtc = DateTime.UtcNow, RequestEncoding = encoding };
        _calls[callId] = call;
        using var registration = context.CancellationToken.Register(() => call.CancellationObserved.TrySetResult());
        await next(context);
    }

    /// <summary>Waits until the server has seen the call (it may still be in flight when the client reports).</summary>
    public async Task<ObservedCall> WaitForCallAsync(string callId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!_calls.TryGetValue(callId, out var call))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Our server never saw a call with x-call-id {callId}.");
            }
            await Task.Delay(10);
        }
        return _calls[callId];
    }
}
