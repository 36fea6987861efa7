using System.Collections.Concurrent;
using Courtyard.Interop.V1;
using Google.Protobuf;

namespace Courtyard.ServiceDefaults.Tests.Grpc;

/// <summary>
/// courtyard.interop.v1.Interop (tests/Interop/interop.proto) as a Courtyard service would implement it: refusals are
/// <see cref="RequestRefusedException"/>s, and an unexpected failure is an ordinary exception, both left to the
/// platform's interceptor. Calls that carry an "x-call-id" header are reported to <see cref="InteropCallLog"/>,
/// including whether and why the handler saw its call cancelled.
/// </summary>
public sealed class InteropService(InteropCallLog log) : global::Courtyard.Interop.V1.Interop.InteropBase
{
    public override async Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
    {
        using var watch = Watch(context, "Echo");
        if (request.DelayMs > 0)
        {
            await Task.Delay(request.DelayMs, context.CancellationToken);
        }
        var echoed = EchoedMetadata(context.RequestHeaders, request.EchoMetadata);
        if (request.FailWith is { Code: not 0 } failure)
        {
            throw new RpcException(new Status((StatusCode)failure.Code, failure.Message), echoed);
        }
        if (request.RefuseWith is { Code: not 0 } refusal)
        {
            throw new RequestRefusedException((StatusCode)refusal.Code, refusal.Message, refusal.English);
        }
        if (request.CrashWith.Length > 0)
        {
            throw new InvalidOperationException(request.CrashWith);
        }
        if (echoed.Count > 0)
        {
            await context.WriteResponseHeadersAsync(echoed);
            foreach (var entry in echoed)
            {
                context.ResponseTrailers.Add(entry);
            }
        }
        var reply = new EchoReply
        {
            Text = request.Text,
            Payload = request.ResponseSize > 0 ? Payload(request.ResponseSize) : request.Payload,
        };
        foreach (var entry in context.RequestHeaders)
        {
            if (!entry.IsBinary)
            {
                reply.ReceivedMetadata[entry.Key] = reply.ReceivedMetadata.TryGetValue(entry.Key, out var earlier) ? earlier + "," + entry.Value : entry.Value;
            }
        }
        return reply;
    }

    public override async Task Countdown(StreamRequest request, IServerStreamWriter<Chunk> responses, ServerCallContext context)
    {
        using var watch = Watch(context, "Countdown");
        var payload = Payload(request.PayloadSize);
        for (int index = 0; index < request.Count; index++)
        {
            if (index > 0 && request.IntervalMs > 0)
            {
                await Task.Delay(request.IntervalMs, context.CancellationToken);
            }
            await responses.WriteAsync(new Chunk { Index = index, Text = request.Text, Payload = payload });
        }
        if (request.FailAfter is { Code: not 0 } failure)
        {
            throw new RpcException(new Status((StatusCode)failure.Code, failure.Message));
        }
    }

    public override async Task<Summary> Collect(IAsyncStreamReader<Chunk> requestStream, ServerCallContext context)
    {
        using var watch = Watch(context, "Collect");
        var summary = new Summary();
        var texts = new List<string>();
        await foreach (var chunk in requestStream.ReadAllAsync(context.CancellationToken))
        {
            summary.Count++;
            summary.TotalBytes += chunk.Payload.Length;
            texts.Add(chunk.Text);
        }
        summary.JoinedText = string.Join(",", texts);
        return summary;
    }

    public override async Task Chat(IAsyncStreamReader<Chunk> requestStream, IServerStreamWriter<Chunk> responseStream, ServerCallContext context)
    {
        using var watch = Watch(context, "Chat");
        await foreach (var chunk in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(chunk);
        }
    }

    /// <summary>A payload of <paramref name="size"/> bytes repeating "courtyard " (as the grpc-js server does).</summary>
    public static ByteString Payload(int size)
    {
        if (size <= 0)
        {
            return ByteString.Empty;
        }
        var bytes = new byte[size];
        var pattern = "courtyard "u8;
        for (int i = 0; i < size; i++)
        {
            bytes[i] = pattern[i % pattern.Length];
        }
        return ByteString.CopyFrom(bytes);
    }

    private static Metadata EchoedMetadata(Metadata requestHeaders, IEnumerable<string> keys)
    {
        var echoed = new Metadata();
        foreach (var key in keys)
        {
            foreach (var entry in requestHeaders.GetAll(key))
            {
                echoed.Add(entry);
            }
        }
        return echoed;
    }

    private CallWatch? Watch(ServerCallContext context, string method)
    {
        if (context.RequestHeaders.GetValue("x-call-id") is not { } callId)
        {
            return null;
        }
        // ServerCallContext.RequestHeaders leaves grpc-* headers out: what the caller declared about compression is in HTTP.
        string encoding = context.GetHttpContext().Request.Headers["grpc-encoding"].ToString() is { Length: > 0 } declared ? declared : "identity";
        log.RecordCall(new InteropCall(method, callId, context.Deadline, encoding));
        return new CallWatch(log, context, method, callId);
    }

    private sealed class CallWatch : IDisposable
    {
        // A client resets the stream at its own deadline timer, which can beat the server's by a few milliseconds.
        private const int DeadlineTolerance = 100;

        private readonly CancellationTokenRegistration _registration;

        public CallWatch(InteropCallLog log, ServerCallContext context, string method, string callId)
        {
            _registration = context.CancellationToken.Register(() =>
                log.RecordCancellation(new InteropCancellation(method, callId, DateTime.UtcNow >= context.Deadline.AddMilliseconds(-DeadlineTolerance) ? "deadline" : "cancelled")));
        }

        public void Dispose() => _registration.Dispose();
    }
}

/// <summary>A call as the handler saw it: its deadline and the request encoding the caller declared ("identity" when none).</summary>
public sealed record InteropCall(string Method, string CallId, DateTime Deadline, string RequestEncoding);

/// <summary>The handler saw its call cancelled; Reason is "deadline" or "cancelled".</summary>
public sealed record InteropCancellation(string Method, string CallId, string Reason);

/// <summary>What <see cref="InteropService"/> observed, for tests to wait on.</summary>
public sealed class InteropCallLog
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InteropCall>> _calls = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InteropCancellation>> _cancellations = new();

    public void RecordCall(InteropCall call) => Slot(_calls, call.CallId).TrySetResult(call);

    public void RecordCancellation(InteropCancellation cancellation) => Slot(_cancellations, cancellation.CallId).TrySetResult(cancellation);

    public Task<InteropCall> WaitForCallAsync(string callId, TimeSpan timeout) => Slot(_calls, callId).Task.WaitAsync(timeout);

    public Task<InteropCancellation> WaitForCancellationAsync(string callId, TimeSpan timeout) => Slot(_cancellations, callId).Task.WaitAsync(timeout);

    private static TaskCompletionSource<T> Slot<T>(ConcurrentDictionary<string, TaskCompletionSource<T>> slots, string callId)
        => slots.GetOrAdd(callId, _ => new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously));
}
