using System.Collections.Concurrent;

namespace Courtyard.Grpc.Tests.Interop;

/// <summary>
/// Records the grpc-encoding request header of each call tagged with x-call-id: what our server was told about the
/// request messages' compression (ServerCallContext.RequestHeaders leaves grpc-* headers out, so this reads HTTP).
/// </summary>
public sealed class RequestEncodingObserver : Interceptor
{
    private readonly ConcurrentDictionary<string, string> _encodings = new();

    public override Task InvokeAsync(ServerCallContext context, ServerCallContinuation next)
    {
        if (context.RequestHeaders.GetValue("x-call-id") is { } callId)
        {
            _encodings[callId] = context.HttpContext.Request.Headers["grpc-encoding"].ToString() is { Length: > 0 } encoding ? encoding : "identity";
        }
        return next(context);
    }

    /// <summary>The call's request encoding ("identity" when none was declared), or null if the call never reached our server.</summary>
    public string? EncodingOf(string callId) => _encodings.TryGetValue(callId, out var encoding) ? encoding : null;
}
