using System.Collections.Concurrent;
using Courtyard.Interop.V1;
using Google.Protobuf;

namespace Courtyard.Grpc.Tests.Server;

public sealed class MetadataAndCompressionTests
{
    private static readonly byte[] Binary = [0, 1, 2, 250, 251, 252, 253, 254, 255];

    [Fact]
    public async Task Text_and_binary_metadata_travel_to_the_server_and_back_in_headers_and_trailers()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var headers = new Metadata { { "x-courtyard", "east-gate" }, { "x-token-bin", Binary } };

        using var call = server.Channel.StartUnary(GrpcTestServer.Echo,
            new EchoRequest { Text = "m", EchoMetadata = { "x-courtyard", "x-token-bin" } }, new CallOptions(headers));
        var reply = await call.ResponseAsync;
        var responseHeaders = await call.ResponseHeadersAsync;
        var trailers = call.GetTrailers();

        Assert.Equal("east-gate", reply.ReceivedMetadata["x-courtyard"]);
        Assert.False(reply.ReceivedMetadata.ContainsKey("x-token-bin"));
        Assert.Equal("east-gate", responseHeaders.GetValue("x-courtyard"));
        Assert.Equal(Binary, responseHeaders.GetValueBytes("x-token-bin"));
        Assert.Equal("east-gate", trailers.GetValue("x-courtyard"));
        Assert.Equal(Binary, trailers.GetValueBytes("x-token-bin"));
    }

    [Fact]
    public async Task Metadata_of_a_failed_call_arrives_with_the_RpcException()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var headers = new Metadata { { "x-reason", "closed" }, { "x-detail-bin", Binary } };

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest
        {
            EchoMetadata = { "x-reason", "x-detail-bin" },
            FailWith = new StatusRequest { Code = (int)StatusCode.FailedPrecondition, Message = "no" },
        }, new CallOptions(headers)));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("closed", error.Trailers.GetValue("x-reason"));
        Assert.Equal(Binary, error.Trailers.GetValueBytes("x-detail-bin"));
    }

    [Fact]
    public async Task Gzip_compresses_requests_and_responses_both_ways()
    {
        var seenByServer = new ConcurrentQueue<string?>();
        await using var server = await GrpcTestServer.StartAsync(options =>
        {
            options.ResponseCompression = "gzip";
            options.Interceptors.Add(new HeaderRecorder("grpc-encoding", seenByServer));
        });
        var recorder = new ResponseEncodingRecorder(GrpcChannel.CreateDefaultHandler());
        using var channel = server.CreateChannel(new GrpcChannelOptions { RequestCompression = "gzip", HttpHandler = recorder });
        var payload = ByteString.CopyFrom(new byte[200_000]);

        var reply = await channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { Text = "z", Payload = payload });
        using var chat = channel.StartDuplexStreaming(GrpcTestServer.Chat);
        await chat.RequestStream.WriteAsync(new Chunk { Payload = payload });
        Assert.True(await chat.ResponseStream.MoveNext());
        var echoed = chat.ResponseStream.Current;
        await chat.RequestStream.CompleteAsync();
        Assert.False(await chat.ResponseStream.MoveNext());

        Assert.Equal(payload, reply.Payload);
        Assert.Equal(payload, echoed.Payload);
        Assert.All(seenByServer, encoding => Assert.Equal("gzip", encoding));
        Assert.Equal(2, seenByServer.Count);
        Assert.Equal(["gzip", "gzip"], recorder.Encodings);
        Assert.True(recorder.ResponseBytes.Sum() < payload.Length / 10, $"compressed bodies should be far smaller than {payload.Length} bytes, got {string.Join(",", recorder.ResponseBytes)}");
    }

    [Fact]
    public async Task The_server_does_not_compress_for_a_client_that_does_not_accept_gzip()
    {
        await using var server = await GrpcTestServer.StartAsync(options => options.ResponseCompression = "gzip");
        using var http = server.CreateRawHttpClient();

        var response = await RawGrpc.SendAsync(http, GrpcTestServer.Echo.FullName, RawGrpc.Frame(new EchoRequest { Text = "plain" }.ToByteArray()));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Null(response.Encoding);
        Assert.Equal(0, response.Body[0]);
    }

    private sealed class HeaderRecorder(string header, ConcurrentQueue<string?> seen) : Interceptor
    {
        public override Task InvokeAsync(ServerCallContext context, ServerCallContinuation next)
        {
            seen.Enqueue(context.HttpContext.Request.Headers[header].FirstOrDefault());
            return next(context);
        }
    }

    /// <summary>Records each response's grpc-encoding and body size as it crosses the wire.</summary>
    private sealed class ResponseEncodingRecorder(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public ConcurrentQueue<string?> Encodings { get; } = new();

        public ConcurrentQueue<long> ResponseBytes { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            Encodings.Enqueue(response.Headers.TryGetValues("grpc-encoding", out var values) ? values.First() : null);
            response.Content = new CountingContent(response.Content, ResponseBytes);
            return response;
        }
    }

    private sealed class CountingContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly ConcurrentQueue<long> _sizes;

        public CountingContent(HttpContent inner, ConcurrentQueue<long> sizes)
        {
            _inner = inner;
            _sizes = sizes;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override async Task<Stream> CreateContentReadStreamAsync() => new CountingStream(await _inner.ReadAsStreamAsync(), _sizes);

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => _inner.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private sealed class CountingStream(Stream inner, ConcurrentQueue<long> sizes) : Stream
    {
        private long _count;
        private bool _reported;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => Count(await inner.ReadAsync(buffer, cancellationToken));

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _count += read;
            if (read == 0 && !_reported)
            {
                _reported = true;
                sizes.Enqueue(_count);
            }
            return read;
        }
    }
}
