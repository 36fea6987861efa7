using Courtyard.Interop.V1;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Grpc.Tests.Server;

/// <summary>Each call kind, our client against our server on a real Kestrel h2c port.</summary>
public sealed class CallKindTests : IAsyncLifetime
{
    private GrpcTestServer _server = null!;

    public async Task InitializeAsync() => _server = await GrpcTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Unary_echoes_text_and_payload()
    {
        var reply = await _server.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { Text = "你好 courtyard", Payload = ByteString.CopyFromUtf8("abc") });

        Assert.Equal("你好 courtyard", reply.Text);
        Assert.Equal("abc", reply.Payload.ToStringUtf8());
    }

    [Fact]
    public async Task Unary_call_object_exposes_status_and_headers()
    {
        using var call = _server.Channel.StartUnary(GrpcTestServer.Echo, new EchoRequest { Text = "x", ResponseSize = 1000 });

        var reply = await call.ResponseAsync;
        await call.ResponseHeadersAsync;

        Assert.Equal(1000, reply.Payload.Length);
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    [Fact]
    public async Task Server_streaming_delivers_every_chunk_in_order_then_the_final_status()
    {
        using var call = _server.Channel.StartServerStreaming(GrpcTestServer.Countdown, new StreamRequest { Text = "t", Count = 50, PayloadSize = 100 });

        var indexes = new List<int>();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal(100, chunk.Payload.Length);
            indexes.Add(chunk.Index);
        }

        Assert.Equal(Enumerable.Range(0, 50), indexes);
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    [Fact]
    public async Task Server_streaming_ending_with_an_error_delivers_the_chunks_then_throws()
    {
        using var call = _server.Channel.StartServerStreaming(GrpcTestServer.Countdown,
            new StreamRequest { Count = 3, FailAfter = new StatusRequest { Code = (int)StatusCode.Aborted, Message = "stale tally" } });

        int received = 0;
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync())
            {
                received++;
            }
        });

        Assert.Equal(3, received);
        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal("stale tally", error.Status.Detail);
    }

    [Fact]
    public async Task Server_streaming_with_gzip_delivers_every_chunk_before_the_error()
    {
        await using var server = await GrpcTestServer.StartAsync(options => options.ResponseCompression = "gzip");
        using var call = server.Channel.StartServerStreaming(GrpcTestServer.Countdown,
            new StreamRequest { Count = 3, PayloadSize = 10, FailAfter = new StatusRequest { Code = (int)StatusCode.FailedPrecondition, Message = "名额已满" } });

        var chunks = new List<Chunk>();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext())
            {
                chunks.Add(call.ResponseStream.Current);
            }
        });

        Assert.Equal([0, 1, 2], chunks.Select(c => c.Index));
        Assert.Equal("名额已满", error.Status.Detail);
    }

    [Fact]
    public async Task Client_streaming_summarises_every_chunk()
    {
        using var call = _server.Channel.StartClientStreaming(GrpcTestServer.Collect);
        for (int i = 0; i < 20; i++)
        {
            await call.RequestStream.WriteAsync(new Chunk { Index = i, Text = "c" + i, Payload = ByteString.CopyFrom(new byte[i]) });
        }
        await call.RequestStream.CompleteAsync();

        var summary = await call.ResponseAsync;

        Assert.Equal(20, summary.Count);
        Assert.Equal(Enumerable.Range(0, 20).Sum(), summary.TotalBytes);
        Assert.Equal(string.Join(",", Enumerable.Range(0, 20).Select(i => "c" + i)), summary.JoinedText);
    }

    [Fact]
    public async Task Duplex_echoes_each_chunk_as_it_arrives()
    {
        using var call = _server.Channel.StartDuplexStreaming(GrpcTestServer.Chat);

        for (int i = 0; i < 10; i++)
        {
            // Ping-pong: each answer must come back before the next request is sent, so the stream is truly duplex.
            await call.RequestStream.WriteAsync(new Chunk { Index = i, Text = "m" + i });
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Equal(i, call.ResponseStream.Current.Index);
            Assert.Equal("m" + i, call.ResponseStream.Current.Text);
        }
        await call.RequestStream.CompleteAsync();

        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    [Fact]
    public async Task Many_concurrent_unary_calls_all_succeed()
    {
        var calls = Enumerable.Range(0, 200).Select(i => _server.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { Text = "n" + i }));

        var replies = await Task.WhenAll(calls);

        Assert.Equal(Enumerable.Range(0, 200).Select(i => "n" + i), replies.Select(r => r.Text));
    }

    [Fact]
    public async Task A_scoped_service_gets_a_new_instance_per_call_and_a_singleton_one_instance()
    {
        await using var scoped = await GrpcTestServer.StartAsync(services: grpc => grpc.AddService<CountingService>(InteropService.Descriptor));
        var first = await scoped.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest());
        var second = await scoped.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest());
        Assert.NotEqual(first.Text, second.Text);

        await using var singleton = await GrpcTestServer.StartAsync(services: grpc =>
        {
            grpc.Services.AddSingleton<CountingService>();
            grpc.AddService<CountingService>(InteropService.Descriptor);
        });
        var third = await singleton.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest());
        var fourth = await singleton.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest());
        Assert.Equal(third.Text, fourth.Text);
    }

    /// <summary>Answers Echo with an id of its own instance.</summary>
    public sealed class CountingService
    {
        private readonly string _instance = Guid.NewGuid().ToString("N");

        public Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) => Task.FromResult(new EchoReply { Text = _instance });

        public Task Countdown(StreamRequest request, IServerStreamWriter<Chunk> responses, ServerCallContext context) => Task.CompletedTask;

        public Task<Summary> Collect(IAsyncStreamReader<Chunk> requests, ServerCallContext context) => Task.FromResult(new Summary());

        public Task Chat(IAsyncStreamReader<Chunk> requests, IServerStreamWriter<Chunk> responses, ServerCallContext context) => Task.CompletedTask;
    }
}
