using Courtyard.Interop.V1;

namespace Courtyard.Grpc.Tests.Server;

public sealed class DeadlineAndCancellationTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private GrpcTestServer _server = null!;

    public async Task InitializeAsync() => _server = await GrpcTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static Metadata CallId(out string id)
    {
        id = Guid.NewGuid().ToString("N");
        return new Metadata { { "x-call-id", id } };
    }

    [Fact]
    public async Task A_deadline_fails_the_client_with_DEADLINE_EXCEEDED_and_cancels_the_server_handler()
    {
        var headers = CallId(out var id);
        var started = DateTime.UtcNow;

        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync(GrpcTestServer.Echo,
            new EchoRequest { DelayMs = 30_000 }, new CallOptions(headers, deadline: DateTime.UtcNow.AddMilliseconds(1000))));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "the call should end at its deadline, not after the handler's delay");
        var call = await _server.CallLog.WaitForCallAsync(id, Wait);
        Assert.InRange(call.Deadline, started, started.AddSeconds(3));
        var cancellation = await _server.CallLog.WaitForCancellationAsync(id, Wait);
        Assert.Equal("Echo", cancellation.Method);
    }

    [Fact]
    public async Task A_deadline_already_past_fails_without_calling_the_server()
    {
        var headers = CallId(out var id);

        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync(GrpcTestServer.Echo,
            new EchoRequest(), new CallOptions(headers, deadline: DateTime.UtcNow.AddSeconds(-1))));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await Assert.ThrowsAsync<TimeoutException>(() => _server.CallLog.WaitForCallAsync(id, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task A_server_stream_past_its_deadline_ends_with_DEADLINE_EXCEEDED_after_the_chunks_sent_so_far()
    {
        var headers = CallId(out var id);
        using var call = _server.Channel.StartServerStreaming(GrpcTestServer.Countdown, new StreamRequest { Count = 1000, IntervalMs = 100 },
            new CallOptions(headers, deadline: DateTime.UtcNow.AddMilliseconds(700)));

        int received = 0;
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync())
            {
                received++;
            }
        });

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.InRange(received, 1, 20);
        Assert.Equal("deadline", (await _server.CallLog.WaitForCancellationAsync(id, Wait)).Reason);
    }

    [Fact]
    public async Task Cancelling_the_token_fails_the_client_with_CANCELLED_and_reaches_the_server_handler()
    {
        var headers = CallId(out var id);
        using var cancellation = new CancellationTokenSource();
        var call = _server.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { DelayMs = 30_000 }, new CallOptions(headers, cancellationToken: cancellation.Token));
        await _server.CallLog.WaitForCallAsync(id, Wait);

        cancellation.Cancel();

        var error = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        var seen = await _server.CallLog.WaitForCancellationAsync(id, Wait);
        Assert.Equal("cancelled", seen.Reason);
    }

    [Fact]
    public async Task Disposing_a_duplex_call_resets_the_stream_and_the_server_sees_cancellation()
    {
        var headers = CallId(out var id);
        var call = _server.Channel.StartDuplexStreaming(GrpcTestServer.Chat, new CallOptions(headers));
        await call.RequestStream.WriteAsync(new Chunk { Text = "hello" });
        Assert.True(await call.ResponseStream.MoveNext());

        call.Dispose();

        Assert.Equal("cancelled", (await _server.CallLog.WaitForCancellationAsync(id, Wait)).Reason);
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().Code);
        await Assert.ThrowsAnyAsync<Exception>(() => call.RequestStream.WriteAsync(new Chunk()));
    }

    [Fact]
    public async Task Cancelling_a_MoveNext_cancels_a_server_stream()
    {
        var headers = CallId(out var id);
        using var call = _server.Channel.StartServerStreaming(GrpcTestServer.Countdown, new StreamRequest { Count = 100, IntervalMs = 1000 }, new CallOptions(headers));
        Assert.True(await call.ResponseStream.MoveNext());
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(stop.Token));

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Equal("cancelled", (await _server.CallLog.WaitForCancellationAsync(id, Wait)).Reason);
    }
}
