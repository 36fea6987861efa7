using System.Net;
using Courtyard.Interop.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Courtyard.Grpc.Tests.Server;

public sealed class ErrorAndLimitTests : IAsyncLifetime
{
    private const int Limit = 4 * 1024 * 1024;
    private GrpcTestServer _server = null!;

    public async Task InitializeAsync() => _server = await GrpcTestServer.StartAsync(options =>
        options.MapException<KeyNotFoundException>(e => new Status(StatusCode.NotFound, "找不到: " + e.Message)));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>An Echo request whose serialized size is exactly <paramref name="size"/> bytes.</summary>
    private static EchoRequest RequestOfSize(int size, int responseSize = 1)
    {
        var request = new EchoRequest { ResponseSize = responseSize };
        request.Payload = ByteString.CopyFrom(new byte[size - request.CalculateSize() - 5]); // 1 tag byte + 4 length bytes + payload
        Assert.Equal(size, request.CalculateSize());
        return request;
    }

    [Fact]
    public async Task A_request_at_the_4_MiB_limit_passes()
    {
        var request = RequestOfSize(Limit);

        var reply = await _server.Channel.UnaryAsync(GrpcTestServer.Echo, request);

        Assert.Equal(1, reply.Payload.Length);
    }

    [Fact]
    public async Task A_4_MiB_response_passes_the_client_limit_and_one_byte_more_does_not()
    {
        // The reply also carries the request metadata the server saw, so size the limit from a reply without payload.
        using var probe = _server.CreateChannel(new GrpcChannelOptions());
        int overhead = (await probe.UnaryAsync(GrpcTestServer.Echo, new EchoRequest())).CalculateSize() + 5; // + payload tag and 4-byte length
        using var channel = _server.CreateChannel(new GrpcChannelOptions { MaxReceiveMessageSize = Limit });

        var reply = await channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { ResponseSize = Limit - overhead });
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { ResponseSize = Limit - overhead + 1 }));

        Assert.Equal(Limit, reply.CalculateSize());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task A_message_one_byte_over_the_limit_fails_with_RESOURCE_EXHAUSTED_and_the_server_keeps_serving()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync(GrpcTestServer.Echo, RequestOfSize(Limit + 1)));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains((Limit + 1).ToString(), error.Status.Detail);
        Assert.Equal("still here", (await _server.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { Text = "still here" })).Text);
    }

    [Fact]
    public async Task The_client_refuses_a_response_over_its_own_limit()
    {
        using var channel = _server.CreateChannel(new GrpcChannelOptions { MaxReceiveMessageSize = 1000 });

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { ResponseSize = 2000 }));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task The_client_refuses_to_send_over_its_send_limit()
    {
        using var channel = _server.CreateChannel(new GrpcChannelOptions { MaxSendMessageSize = 100 });

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { Payload = ByteString.CopyFrom(new byte[200]) }));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Theory]
    [InlineData("投票已截止 — voting closed")]
    [InlineData("100% sure: a\tb\nc")]
    [InlineData("")]
    public async Task Error_messages_round_trip_exactly_including_non_ASCII(string message)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync(GrpcTestServer.Echo,
            new EchoRequest { FailWith = new StatusRequest { Code = (int)StatusCode.FailedPrecondition, Message = message } }));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal(message, error.Status.Detail);
    }

    [Fact]
    public async Task A_non_gRPC_content_type_gets_HTTP_415()
    {
        using var http = _server.CreateRawHttpClient();

        var response = await RawGrpc.SendAsync(http, GrpcTestServer.Echo.FullName, "hello"u8.ToArray(), contentType: "text/plain");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.HttpStatus);
        Assert.Equal(StatusCode.Internal, response.Status);
    }

    [Fact]
    public async Task Application_grpc_plus_proto_is_accepted()
    {
        using var http = _server.CreateRawHttpClient();

        var response = await RawGrpc.SendAsync(http, GrpcTestServer.Echo.FullName, RawGrpc.Frame(new EchoRequest { Text = "p" }.ToByteArray()), contentType: "application/grpc+proto");

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal("p", EchoReply.Parser.ParseFrom(response.Body.AsSpan(5).ToArray()).Text);
    }

    [Fact]
    public async Task Unknown_methods_and_services_get_UNIMPLEMENTED()
    {
        var unknownMethod = new Method<EchoRequest, EchoReply>(MethodType.Unary, "courtyard.interop.v1.Interop", "Vote", EchoRequest.Parser, EchoReply.Parser, null);
        var unknownService = new Method<EchoRequest, EchoReply>(MethodType.Unary, "courtyard.councils.v1.Councils", "Vote", EchoRequest.Parser, EchoReply.Parser, null);

        var methodError = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync(unknownMethod, new EchoRequest()));
        var serviceError = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync(unknownService, new EchoRequest()));

        Assert.Equal(StatusCode.Unimplemented, methodError.StatusCode);
        Assert.Contains("Vote", methodError.Status.Detail);
        Assert.Equal(StatusCode.Unimplemented, serviceError.StatusCode);
        Assert.Contains("courtyard.councils.v1.Councils", serviceError.Status.Detail);
    }

    [Fact]
    public async Task A_throwing_handler_gives_UNKNOWN_with_a_generic_message_and_the_stack_only_in_the_log()
    {
        await using var server = await GrpcTestServer.StartAsync(services: grpc => grpc.AddService<ThrowingService>(InteropService.Descriptor));

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest()));

        Assert.Equal(StatusCode.Unknown, error.StatusCode);
        Assert.Equal("Exception was thrown by handler.", error.Status.Detail);
        Assert.DoesNotContain("secret", error.Message);
        Assert.DoesNotContain(" at ", error.Message);
        var logged = Assert.Single(server.Logs.Records, r => r.Level == LogLevel.Error);
        Assert.Contains("secret connection string", logged.Exception!.Message);
        Assert.Contains(nameof(ThrowingService), logged.Exception.StackTrace);
    }

    [Fact]
    public async Task A_mapped_exception_gets_its_chosen_status()
    {
        await using var server = await GrpcTestServer.StartAsync(
            options => options.MapException<KeyNotFoundException>(e => new Status(StatusCode.NotFound, "找不到: " + e.Message)),
            grpc => grpc.AddService<ThrowingService>(InteropService.Descriptor));

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { Text = "missing" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("找不到: courtyard 7", error.Status.Detail);
    }

    public sealed class ThrowingService
    {
        public Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) => request.Text == "missing"
            ? throw new KeyNotFoundException("courtyard 7")
            : throw new InvalidOperationException("secret connection string: Password=hunter2");

        public Task Countdown(StreamRequest request, IServerStreamWriter<Chunk> responses, ServerCallContext context) => Task.CompletedTask;

        public Task<Summary> Collect(IAsyncStreamReader<Chunk> requests, ServerCallContext context) => Task.FromResult(new Summary());

        public Task Chat(IAsyncStreamReader<Chunk> requests, IServerStreamWriter<Chunk> responses, ServerCallContext context) => Task.CompletedTask;
    }
}
