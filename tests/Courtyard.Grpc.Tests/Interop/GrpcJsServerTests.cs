using System.Diagnostics;
using System.Net;
using Courtyard.Interop.V1;
using Google.Protobuf;
using Grpc.Health.V1;

namespace Courtyard.Grpc.Tests.Interop;

/// <summary>
/// Our client (GrpcChannel) against the @grpc/grpc-js 1.14 server of tests/Interop/server.js: every call kind,
/// deadlines, cancellation as the grpc-js server observes it, non-ASCII statuses, metadata both ways, gzip both ways,
/// and messages at the 4 MiB limit.
/// </summary>
public sealed class GrpcJsServerTests(NodeServerFixture node) : IClassFixture<NodeServerFixture>
{
    private const int MaxMessage = 4 * 1024 * 1024;

    private static readonly Method<EchoRequest, EchoReply> Echo = GrpcTestServer.Echo;
    private static readonly Method<StreamRequest, Chunk> Countdown = GrpcTestServer.Countdown;
    private static readonly Method<Chunk, Summary> Collect = GrpcTestServer.Collect;
    private static readonly Method<Chunk, Chunk> Chat = GrpcTestServer.Chat;

    private static readonly TimeSpan ObservationTimeout = TimeSpan.FromSeconds(5);

    public static TheoryData<StatusCode, string> NonAsciiStatuses => new()
    {
        { StatusCode.FailedPrecondition, "投票已截止 — voting closed" },
        { StatusCode.InvalidArgument, "名额已满：第3班次 (shift full) 🏠" },
        { StatusCode.PermissionDenied, "percent 100% and a newline\nsecond line\ttab" },
        { StatusCode.Unauthenticated, "请先登录" },
    };

    [Fact]
    public async Task Unary_echo_returns_text_and_payload_and_the_server_sees_our_headers()
    {
        using var channel = NewChannel();
        var payload = ByteString.CopyFrom(0, 1, 2, 0x7f, 0x80, 0xfe, 0xff);

        var reply = await channel.UnaryAsync(Echo, new EchoRequest { Text = "你好, courtyard", Payload = payload },
            new CallOptions(headers: new Metadata { { "x-courtyard-text", "hello" } }));

        Assert.Equal("你好, courtyard", reply.Text);
        Assert.Equal(payload, reply.Payload);
        Assert.Equal("hello", reply.ReceivedMetadata["x-courtyard-text"]);
    }

    [Fact]
    public async Task Reply_of_a_requested_size_arrives_whole()
    {
        using var channel = NewChannel();

        var reply = await channel.UnaryAsync(Echo, new EchoRequest { Text = "sized", ResponseSize = 100_000 });

        Assert.Equal(100_000, reply.Payload.Length);
    }

    [Fact]
    public async Task Server_stream_delivers_each_chunk_as_the_server_produces_it()
    {
        using var channel = NewChannel();
        using var call = channel.StartServerStreaming(Countdown, new StreamRequest { Text = "tick", Count = 5, IntervalMs = 100, PayloadSize = 1000 });
        var chunks = new List<Chunk>();
        var arrivals = new List<long>();

        await foreach (var chunk in call.ResponseStream.ReadAllAsync())
        {
            chunks.Add(chunk);
            arrivals.Add(Stopwatch.GetTimestamp());
        }

        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, chunks.Select(c => c.Index));
        Assert.All(chunks, c => Assert.Equal(("tick", 1000), (c.Text, c.Payload.Length)));
        var spread = Stopwatch.GetElapsedTime(arrivals[0], arrivals[^1]);
        Assert.True(spread >= TimeSpan.FromMilliseconds(250), $"all chunks arrived within {spread.TotalMilliseconds:F0} ms: the stream was buffered");
    }

    [Fact]
    public async Task Server_stream_ending_in_an_error_delivers_its_chunks_then_the_status()
    {
        using var channel = NewChannel();
        const string detail = "名额已满：第3班次 (shift full) 🏠";
        using var call = channel.StartServerStreaming(Countdown,
            new StreamRequest { Text = "x", Count = 3, FailAfter = new StatusRequest { Code = (int)StatusCode.FailedPrecondition, Message = detail } });
        var received = 0;

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
                received++;
            }
        });

        Assert.Equal(3, received);
        Assert.Equal(new Status(StatusCode.FailedPrecondition, detail), error.Status);
    }

    [Fact]
    public async Task Client_stream_is_collected_in_full()
    {
        using var channel = NewChannel();
        string[] texts = ["a", "b", "c", "十", "e"];
        using var call = channel.StartClientStreaming(Collect);

        for (int index = 0; index < texts.Length; index++)
        {
            await call.RequestStream.WriteAsync(new Chunk { Index = index, Text = texts[index], Payload = ByteString.CopyFrom(new byte[index * 100]) });
        }
        await call.RequestStream.CompleteAsync();
        var summary = await call.ResponseAsync;

        Assert.Equal(texts.Length, summary.Count);
        Assert.Equal(1000, summary.TotalBytes);
        Assert.Equal(string.Join(',', texts), summary.JoinedText);
    }

    [Fact]
    public async Task Duplex_echoes_each_message_before_the_client_finishes_sending()
    {
        using var channel = NewChannel();
        using var call = channel.StartDuplexStreaming(Chat);

        for (int index = 0; index < 5; index++)
        {
            var sent = new Chunk { Index = index, Text = $"ping {index} 乒乓", Payload = ByteString.CopyFrom(new byte[64 + index]) };
            await call.RequestStream.WriteAsync(sent);
            using var timeout = new CancellationTokenSource(ObservationTimeout);
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token), $"no echo of message {index}");
            Assert.Equal(sent, call.ResponseStream.Current);
        }
        await call.RequestStream.CompleteAsync();

        Assert.False(await call.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task Deadline_travels_to_the_grpc_js_server_and_ends_the_call_there()
    {
        using var channel = NewChannel();
        await channel.UnaryAsync(Echo, new EchoRequest { Text = "warm-up" }); // connect first: the 300 ms are for the call, not the handshake
        string callId = Guid.NewGuid().ToString();
        var started = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Echo, new EchoRequest { Text = "slow", DelayMs = 5000 },
            new CallOptions(headers: Tagged(callId), deadline: DateTime.UtcNow.AddMilliseconds(300))));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2.5), $"DEADLINE_EXCEEDED took {started.Elapsed.TotalMilliseconds:F0} ms");
        var seen = await node.WaitForEventAsync(callId, "call", ObservationTimeout);
        var serverBudgetMs = seen.GetProperty("deadlineMs");
        Assert.True(serverBudgetMs.ValueKind == System.Text.Json.JsonValueKind.Number && serverBudgetMs.GetDouble() is > 0 and <= 300,
            $"grpc-js saw a deadline of {serverBudgetMs} ms: grpc-timeout was not sent or is wrong");
        await node.WaitForEventAsync(callId, "cancelled", ObservationTimeout);
    }

    [Fact]
    public async Task Cancelling_the_token_cancels_the_call_on_the_grpc_js_server()
    {
        using var channel = NewChannel();
        string callId = Guid.NewGuid().ToString();
        using var cancellation = new CancellationTokenSource();

        var call = channel.UnaryAsync(Echo, new EchoRequest { Text = "wait", DelayMs = 10_000 },
            new CallOptions(headers: Tagged(callId), cancellationToken: cancellation.Token));
        await node.WaitForEventAsync(callId, "call", ObservationTimeout); // cancel once grpc-js is running the handler, not by a timer
        cancellation.Cancel();
        var error = await Assert.ThrowsAsync<RpcException>(() => call);

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        var cancelled = await node.WaitForEventAsync(callId, "cancelled", ObservationTimeout);
        Assert.Equal("cancelled", cancelled.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Disposing_a_server_stream_midway_cancels_it_on_the_grpc_js_server()
    {
        using var channel = NewChannel();
        string callId = Guid.NewGuid().ToString();
        var call = channel.StartServerStreaming(Countdown, new StreamRequest { Text = "long", Count = 100_000, IntervalMs = 20 }, new CallOptions(headers: Tagged(callId)));
        for (int index = 0; index < 3; index++)
        {
            Assert.True(await call.ResponseStream.MoveNext());
        }

        call.Dispose();

        var cancelled = await node.WaitForEventAsync(callId, "cancelled", ObservationTimeout);
        Assert.Equal("Countdown", cancelled.GetProperty("method").GetString());
    }

    [Theory]
    [MemberData(nameof(NonAsciiStatuses))]
    public async Task Error_status_with_a_non_ASCII_detail_arrives_intact(StatusCode code, string detail)
    {
        using var channel = NewChannel();

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Echo,
            new EchoRequest { Text = "fail", FailWith = new StatusRequest { Code = (int)code, Message = detail } }));

        Assert.Equal(new Status(code, detail), error.Status);
    }

    [Fact]
    public async Task Text_and_binary_metadata_travel_both_ways()
    {
        using var channel = NewChannel();
        string callId = Guid.NewGuid().ToString();
        byte[] binary = [0, 1, 0x7f, 0x80, 0xfe, 0xff, .. "投票"u8];
        const string text = "Plain value; with spaces, punctuation = ok";
        var headers = Tagged(callId);
        headers.Add("x-courtyard-text", text);
        headers.Add("x-courtyard-data-bin", binary);

        using var call = channel.StartUnary(Echo, new EchoRequest { Text = "md", EchoMetadata = { "x-courtyard-text", "x-courtyard-data-bin" } },
            new CallOptions(headers: headers));
        var responseHeaders = await call.ResponseHeadersAsync;
        var reply = await call.ResponseAsync;
        var trailers = call.GetTrailers();

        Assert.Equal(text, reply.ReceivedMetadata["x-courtyard-text"]);
        var seen = await node.WaitForEventAsync(callId, "call", ObservationTimeout);
        Assert.Equal(Convert.ToBase64String(binary), seen.GetProperty("binaryMetadata").GetProperty("x-courtyard-data-bin").GetString());
        Assert.Equal(text, responseHeaders.GetValue("x-courtyard-text"));
        Assert.Equal(binary, responseHeaders.GetValueBytes("x-courtyard-data-bin"));
        Assert.Equal(text, trailers.GetValue("x-courtyard-text"));
        Assert.Equal(binary, trailers.GetValueBytes("x-courtyard-data-bin"));
    }

    [Fact]
    public async Task Metadata_sent_with_an_error_status_reaches_the_exception()
    {
        using var channel = NewChannel();
        byte[] binary = [0xff, 0x00, 0x10];
        var headers = new Metadata { { "x-courtyard-text", "on error" }, { "x-courtyard-data-bin", binary } };

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Echo, new EchoRequest
        {
            Text = "md",
            EchoMetadata = { "x-courtyard-text", "x-courtyard-data-bin" },
            FailWith = new StatusRequest { Code = (int)StatusCode.Aborted, Message = "投票已截止 — voting closed" },
        }, new CallOptions(headers: headers)));

        Assert.Equal(new Status(StatusCode.Aborted, "投票已截止 — voting closed"), error.Status);
        Assert.Equal("on error", error.Trailers.GetValue("x-courtyard-text"));
        Assert.Equal(binary, error.Trailers.GetValueBytes("x-courtyard-data-bin"));
    }

    [Fact]
    public async Task Gzip_requests_are_compressed_on_the_wire_and_grpc_js_reads_them()
    {
        await using var proxy = new CountingProxy(node.EndPoint);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{proxy.Port}", new GrpcChannelOptions { RequestCompression = "gzip" });

        var reply = await channel.UnaryAsync(Echo, new EchoRequest { Text = "gzip up", Payload = Compressible(1024 * 1024), ResponseSize = 16 });
        using var collect = channel.StartClientStreaming(Collect);
        for (int index = 0; index < 4; index++)
        {
            await collect.RequestStream.WriteAsync(new Chunk { Index = index, Text = "z", Payload = Compressible(256 * 1024) });
        }
        await collect.RequestStream.CompleteAsync();
        var summary = await collect.ResponseAsync;

        Assert.Equal(16, reply.Payload.Length);
        Assert.Equal(4 * 256 * 1024, summary.TotalBytes);
        Assert.True(proxy.BytesToServer < 200 * 1024, $"our client sent {proxy.BytesToServer} bytes for 2 MiB of gzip-able messages");
    }

    [Fact]
    public async Task Gzip_responses_from_a_third_party_encoder_are_decoded()
    {
        // grpc-js 1.14 servers never compress; server.js's second listener compresses replies with node:zlib.
        await using var proxy = new CountingProxy(new IPEndPoint(IPAddress.Loopback, node.GzipEchoPort));
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{proxy.Port}", new GrpcChannelOptions());
        var payload = Compressible(1024 * 1024);

        var reply = await channel.UnaryAsync(Echo, new EchoRequest { Text = "gzip down", Payload = payload });

        Assert.Equal(payload, reply.Payload);
        Assert.True(proxy.BytesToClient < 200 * 1024,
            $"the reply took {proxy.BytesToClient} bytes: our client did not list gzip in grpc-accept-encoding, so the peer did not compress");
    }

    [Fact]
    public async Task Request_of_exactly_4_MiB_passes_and_one_byte_more_is_refused_by_grpc_js()
    {
        using var channel = NewChannel();

        var atLimit = await channel.UnaryAsync(Echo, RequestOfSize(MaxMessage));
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Echo, RequestOfSize(MaxMessage + 1)));
        var after = await channel.UnaryAsync(Echo, new EchoRequest { Text = "still here" });

        Assert.Equal(1, atLimit.Payload.Length);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal("still here", after.Text);
    }

    [Fact]
    public async Task Reply_just_under_4_MiB_arrives_and_one_over_our_receive_limit_is_refused()
    {
        using var channel = NewChannel();

        var nearLimit = await channel.UnaryAsync(Echo, new EchoRequest { Text = "big", ResponseSize = MaxMessage - 4096 });
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Echo, new EchoRequest { Text = "too big", ResponseSize = MaxMessage + 1 }));

        Assert.Equal(MaxMessage - 4096, nearLimit.Payload.Length);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task Health_check_and_watch_of_the_grpc_js_server_read_its_statuses()
    {
        var check = Method.Create<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor, "Health", "Check");
        var watch = Method.Create<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor, "Health", "Watch");
        using var channel = NewChannel();

        var overall = await channel.UnaryAsync(check, new HealthCheckRequest { Service = "" });
        var unknown = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(check, new HealthCheckRequest { Service = "courtyard.no.such.Service" }));
        using var watching = channel.StartServerStreaming(watch, new HealthCheckRequest { Service = "courtyard.interop.v1.Interop" });
        using var timeout = new CancellationTokenSource(ObservationTimeout);
        Assert.True(await watching.ResponseStream.MoveNext(timeout.Token), "Watch sent no first status");

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watching.ResponseStream.Current.Status);
    }

    private GrpcChannel NewChannel() => GrpcChannel.ForAddress(node.Address, new GrpcChannelOptions { MaxReceiveMessageSize = MaxMessage });

    private static Metadata Tagged(string callId) => new() { { "x-call-id", callId } };

    private static ByteString Compressible(int size)
    {
        var pattern = "the courtyard council meets on thursday; "u8;
        var bytes = new byte[size];
        for (int offset = 0; offset < size; offset += pattern.Length)
        {
            pattern[..Math.Min(pattern.Length, size - offset)].CopyTo(bytes.AsSpan(offset));
        }
        return ByteString.CopyFrom(bytes);
    }

    // An EchoRequest (response_size 1) whose serialized size is exactly `size` bytes.
    private static EchoRequest RequestOfSize(int size)
    {
        var request = new EchoRequest { ResponseSize = 1, Payload = ByteString.CopyFrom(new byte[size]) };
        int overhead = request.CalculateSize() - size;
        request.Payload = ByteString.CopyFrom(Enumerable.Repeat((byte)1, size - overhead).ToArray());
        Assert.Equal(size, request.CalculateSize());
        return request;
    }
}
