using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using Courtyard.Interop.V1;
using Google.Protobuf;

namespace Courtyard.ServiceDefaults.Tests.Grpc.Hostile;

/// <summary>
/// Raw HTTP/2 requests a well-behaved client never sends, to the gRPC port of a host built with ServiceDefaults. Each
/// must get its exact grpc-status, and the host must keep answering correct calls made concurrently and afterwards.
/// </summary>
public sealed class HostileInputTests : IAsyncLifetime
{
    private const int Limit = 4 * 1024 * 1024;
    private const string EchoPath = "/courtyard.interop.v1.Interop/Echo";
    private const string CollectPath = "/courtyard.interop.v1.Interop/Collect";
    private const string ChatPath = "/courtyard.interop.v1.Interop/Chat";
    private static readonly byte[] ValidEcho = new EchoRequest { Text = "valid" }.ToByteArray();

    private InteropTestServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await InteropTestServer.StartAsync();
        _http = _server.CreateRawHttpClient();
    }

    public async Task DisposeAsync()
    {
        // Whatever was thrown at it, the server still answers a correct call.
        Assert.Equal("after", (await _server.Client.EchoAsync(new EchoRequest { Text = "after" })).Text);
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private const string MalformedMessage = "请求格式有误，无法读取。The request is malformed and could not be read.";
    private const string GrpcAspNetCoreHandlerError = "Exception was thrown by handler.";

    private async Task AssertStatus(StatusCode expected, string path, byte[] body, IEnumerable<(string, string)>? headers = null,
        bool keepBodyOpen = false, string? message = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var response = await RawGrpc.SendAsync(_http, path, body, headers: headers, keepBodyOpen: keepBodyOpen, cancellationToken: timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(expected == response.Status, $"expected {expected}, got {response.Status}: {response.Message}");
        if (message is not null)
        {
            Assert.Equal(message, response.Message);
        }
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }

    [Fact]
    public Task A_well_formed_raw_request_succeeds() => AssertStatus(StatusCode.OK, EchoPath, RawGrpc.Frame(ValidEcho));

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public Task A_body_ending_inside_the_frame_header_is_INTERNAL(int headerBytes)
        => AssertStatus(StatusCode.Internal, EchoPath, RawGrpc.Frame(ValidEcho)[..headerBytes]);

    [Fact]
    public Task A_body_ending_inside_the_message_is_INTERNAL()
        => AssertStatus(StatusCode.Internal, EchoPath, RawGrpc.Frame(ValidEcho)[..^2]);

    [Fact]
    public Task A_length_prefix_larger_than_the_body_is_INTERNAL()
        => AssertStatus(StatusCode.Internal, CollectPath, RawGrpc.Frame(new Chunk { Text = "x" }.ToByteArray(), declaredLength: 1_000_000));

    [Fact]
    public Task A_length_prefix_over_the_limit_is_RESOURCE_EXHAUSTED_before_the_body_arrives()
        // The body never ends: only a server that checks the prefix first can answer.
        => AssertStatus(StatusCode.ResourceExhausted, EchoPath, RawGrpc.Frame([1, 2, 3], declaredLength: Limit + 1), keepBodyOpen: true);

    [Fact]
    public Task A_length_prefix_over_2_GiB_in_a_stream_is_refused_as_malformed()
        => AssertStatus(StatusCode.Internal, CollectPath, RawGrpc.Frame([], declaredLength: uint.MaxValue), message: MalformedMessage);

    [Fact]
    public Task Garbage_protobuf_in_a_stream_is_refused_as_malformed()
        => AssertStatus(StatusCode.Internal, CollectPath, RawGrpc.Frame([0x0A, 0x7F, 0x41]), message: MalformedMessage);

    [Fact]
    public Task A_field_number_of_zero_in_a_stream_is_refused_as_malformed()
        => AssertStatus(StatusCode.Internal, CollectPath, RawGrpc.Frame([0x00, 0x01]), message: MalformedMessage);

    [Fact]
    public Task A_compressed_flag_other_than_0_or_1_in_a_stream_is_refused_as_malformed()
        => AssertStatus(StatusCode.Internal, ChatPath, RawGrpc.Frame(new Chunk { Text = "x" }.ToByteArray(), flag: 2), message: MalformedMessage);

    [Fact]
    public Task Invalid_gzip_data_in_a_stream_is_refused_as_malformed()
        => AssertStatus(StatusCode.Internal, CollectPath, RawGrpc.Frame([1, 2, 3, 4, 5, 6, 7, 8], flag: 1), [("grpc-encoding", "gzip")], message: MalformedMessage);

    // A unary request is read before any interceptor runs, so what cannot be read is answered by Grpc.AspNetCore itself.
    [Theory]
    [InlineData("garbage protobuf")]
    [InlineData("compressed flag 2")]
    [InlineData("invalid gzip")]
    [InlineData("length prefix over 2 GiB")]
    public Task A_unary_request_that_cannot_be_read_is_UNKNOWN_from_Grpc_AspNetCore_without_details(string what) => what switch
    {
        "garbage protobuf" => AssertStatus(StatusCode.Unknown, EchoPath, RawGrpc.Frame([0x0A, 0x7F, 0x41]), message: GrpcAspNetCoreHandlerError),
        "compressed flag 2" => AssertStatus(StatusCode.Unknown, EchoPath, RawGrpc.Frame(ValidEcho, flag: 2), message: GrpcAspNetCoreHandlerError),
        "invalid gzip" => AssertStatus(StatusCode.Unknown, EchoPath, RawGrpc.Frame([1, 2, 3, 4, 5, 6, 7, 8], flag: 1), [("grpc-encoding", "gzip")], message: GrpcAspNetCoreHandlerError),
        _ => AssertStatus(StatusCode.Unknown, EchoPath, RawGrpc.Frame([], declaredLength: uint.MaxValue), message: GrpcAspNetCoreHandlerError),
    };

    [Fact]
    public Task The_compressed_flag_without_grpc_encoding_is_INTERNAL()
        => AssertStatus(StatusCode.Internal, EchoPath, RawGrpc.Frame(Gzip(ValidEcho), flag: 1));

    [Fact]
    public Task A_gzip_message_with_grpc_encoding_gzip_is_decompressed()
        => AssertStatus(StatusCode.OK, EchoPath, RawGrpc.Frame(Gzip(ValidEcho), flag: 1), [("grpc-encoding", "gzip")]);

    [Fact]
    public Task A_gzip_bomb_is_RESOURCE_EXHAUSTED_after_decompression()
        => AssertStatus(StatusCode.ResourceExhausted, EchoPath, RawGrpc.Frame(Gzip(new byte[64 * 1024 * 1024]), flag: 1), [("grpc-encoding", "gzip")]);

    [Fact]
    public async Task A_message_compressed_with_an_unsupported_encoding_is_UNIMPLEMENTED_and_names_the_accepted_encodings()
    {
        var response = await RawGrpc.SendAsync(_http, EchoPath, RawGrpc.Frame(Gzip(ValidEcho), flag: 1), headers: [("grpc-encoding", "br")]);

        Assert.Equal(StatusCode.Unimplemented, response.Status);
        Assert.Contains("gzip", response.AcceptEncoding!.Split(','));
        Assert.DoesNotContain("br", response.AcceptEncoding!.Split(','));
    }

    [Theory]
    [InlineData("5")]
    [InlineData("10x")]
    [InlineData("-1S")]
    public async Task A_malformed_grpc_timeout_is_ignored_and_the_call_runs_without_a_deadline(string timeout)
    {
        string callId = Guid.NewGuid().ToString("N");

        await AssertStatus(StatusCode.OK, EchoPath, RawGrpc.Frame(ValidEcho), [("grpc-timeout", timeout), ("x-call-id", callId)]);

        var call = await _server.CallLog.WaitForCallAsync(callId, TimeSpan.FromSeconds(5));
        Assert.Equal(DateTime.MaxValue, call.Deadline);
    }

    [Fact]
    public Task Invalid_base64_in_binary_metadata_is_INTERNAL()
        => AssertStatus(StatusCode.Internal, EchoPath, RawGrpc.Frame(ValidEcho), [("x-token-bin", "not*base64")]);

    [Fact]
    public Task Unpadded_base64_in_binary_metadata_is_accepted()
        => AssertStatus(StatusCode.OK, EchoPath, RawGrpc.Frame(ValidEcho), [("x-token-bin", "AAEC")]);

    [Fact]
    public Task A_unary_request_without_a_message_is_INTERNAL() => AssertStatus(StatusCode.Internal, EchoPath, []);

    [Fact]
    public Task A_unary_request_with_two_messages_is_INTERNAL()
        => AssertStatus(StatusCode.Internal, EchoPath, [.. RawGrpc.Frame(ValidEcho), .. RawGrpc.Frame(ValidEcho)]);

    [Fact]
    public Task An_empty_message_is_a_valid_request() => AssertStatus(StatusCode.OK, EchoPath, RawGrpc.Frame([]));

    [Fact]
    public async Task Ten_thousand_random_frames_each_get_the_predicted_status_while_correct_calls_keep_succeeding()
    {
        var random = new Random(20240917); // fixed seed: a failure reproduces
        var requests = new List<(string Path, byte[] Body, StatusCode Expected)>();
        int frames = 0;
        while (frames < 10_000)
        {
            var (body, expected, count) = RandomRequest(random);
            requests.Add((random.Next(2) == 0 ? CollectPath : ChatPath, body, expected));
            frames += count;
        }
        var stopwatch = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var correctCalls = Task.Run(async () =>
        {
            int succeeded = 0;
            while (!stop.IsCancellationRequested)
            {
                var reply = await _server.Client.EchoAsync(new EchoRequest { Text = "alive" + succeeded });
                Assert.Equal("alive" + succeeded, reply.Text);
                succeeded++;
            }
            return succeeded;
        });

        var mismatches = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, requests.Count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var (path, body, expected) = requests[i];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var response = await RawGrpc.SendAsync(_http, path, body, cancellationToken: timeout.Token);
            if (response.HttpStatus != HttpStatusCode.OK || response.Status != expected)
            {
                mismatches.Enqueue($"request {i} to {path}: expected {expected}, got HTTP {(int)response.HttpStatus} {response.Status} '{response.Message}'");
            }
        });
        stop.Cancel();
        int correct = await correctCalls;

        Assert.True(mismatches.IsEmpty, string.Join(Environment.NewLine, mismatches.Take(10)));
        Assert.True(correct > 0, "correct calls made during the storm must succeed");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(90), $"took {stopwatch.Elapsed}");
    }

    /// <summary>
    /// A body of 1-4 random frames (random flags, lengths and bytes) and maybe a broken tail, with the status the host
    /// must answer: the first bad frame decides (a flag other than 0 or 1, compressed without grpc-encoding, or bytes
    /// that do not parse as a Chunk: INTERNAL); a body ending inside a frame is INTERNAL; a length prefix over the 4 MiB
    /// limit is RESOURCE_EXHAUSTED, and over 2 GiB INTERNAL (Grpc.AspNetCore cannot even represent it); otherwise OK.
    /// </summary>
    private static (byte[] Body, StatusCode Expected, int Frames) RandomRequest(Random random)
    {
        var body = new List<byte>();
        StatusCode? verdict = null;
        int count = random.Next(1, 5);
        for (int i = 0; i < count; i++)
        {
            int roll = random.Next(100);
            byte flag = roll < 3 ? (byte)random.Next(2, 256) : roll < 8 ? (byte)1 : (byte)0;
            byte[] payload = new byte[random.Next(4) == 0 ? random.Next(0, 4000) : random.Next(0, 24)];
            random.NextBytes(payload);
            if (random.Next(3) == 0)
            {
                // Often a valid Chunk, so that whole requests succeed too.
                payload = new Chunk { Index = random.Next(), Text = "r" + random.Next(1000), Payload = ByteString.CopyFrom(payload) }.ToByteArray();
            }
            body.AddRange(RawGrpc.Frame(payload, flag));
            verdict ??= flag > 1 ? StatusCode.Internal
                : flag == 1 ? StatusCode.Internal
                : Parses(payload) ? null : StatusCode.Internal;
        }
        int tail = random.Next(6);
        switch (tail)
        {
            case 0: // the body ends inside a frame header
                body.AddRange(RawGrpc.Frame([])[..random.Next(1, 5)]);
                verdict ??= StatusCode.Internal;
                break;
            case 1: // the prefix promises more than the body holds
                byte[] partial = new byte[random.Next(0, 100)];
                random.NextBytes(partial);
                body.AddRange(RawGrpc.Frame(partial, declaredLength: (uint)(partial.Length + random.Next(1, 100_000))));
                verdict ??= StatusCode.Internal;
                break;
            case 2: // the prefix is over the limit (checked on the prefix alone)
                uint declared = (uint)random.NextInt64(Limit + 1L, uint.MaxValue + 1L);
                body.AddRange(RawGrpc.Frame([9, 9, 9], declaredLength: declared));
                verdict ??= declared > int.MaxValue ? StatusCode.Internal : StatusCode.ResourceExhausted;
                break;
        }
        return (body.ToArray(), verdict ?? StatusCode.OK, tail < 3 ? count + 1 : count);
    }

    private static bool Parses(byte[] payload)
    {
        try
        {
            Chunk.Parser.ParseFrom(payload);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
