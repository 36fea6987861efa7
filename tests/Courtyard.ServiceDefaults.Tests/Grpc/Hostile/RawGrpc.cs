using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;

namespace Courtyard.ServiceDefaults.Tests.Grpc.Hostile;

/// <summary>Hand-made gRPC requests over raw HTTP/2 (HttpClient), to send what a well-behaved client never would.</summary>
public static class RawGrpc
{
    public sealed record Response(HttpStatusCode HttpStatus, StatusCode? Status, string? Message, string? Encoding, string? AcceptEncoding, byte[] Body, bool TrailersOnly);

    /// <summary>One frame: flag, big-endian length (the real length unless <paramref name="declaredLength"/> says otherwise), payload.</summary>
    public static byte[] Frame(byte[] payload, byte flag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public static async Task<Response> SendAsync(HttpClient http, string path, byte[] body, string contentType = "application/grpc",
        bool te = true, IEnumerable<(string Key, string Value)>? headers = null, bool keepBodyOpen = false, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new RawBodyContent(body, contentType, keepBodyOpen),
        };
        if (te)
        {
            request.Headers.TryAddWithoutValidation("te", "trailers");
        }
        foreach (var (key, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(key, value);
        }
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var responseBody = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        string? headerStatus = First(response.Headers, "grpc-status");
        string? status = headerStatus ?? First(response.TrailingHeaders, "grpc-status");
        string? message = headerStatus is not null ? First(response.Headers, "grpc-message") : First(response.TrailingHeaders, "grpc-message");
        return new Response(response.StatusCode, status is null ? null : (StatusCode)int.Parse(status), message is null ? null : Uri.UnescapeDataString(message),
            First(response.Headers, "grpc-encoding"), First(response.Headers, "grpc-accept-encoding"), responseBody, headerStatus is not null);
    }

    private static string? First(HttpHeaders headers, string name) => headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>A request body written in small pieces with flushes between them (so the server sees partial frames), optionally never ended.</summary>
    private sealed class RawBodyContent : HttpContent
    {
        private readonly byte[] _body;
        private readonly bool _keepOpen;

        public RawBodyContent(byte[] body, string contentType, bool keepOpen)
        {
            _body = body;
            _keepOpen = keepOpen;
            Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            try
            {
                for (int offset = 0; offset < _body.Length; offset += 7919)
                {
                    await stream.WriteAsync(_body.AsMemory(offset, Math.Min(7919, _body.Length - offset)), cancellationToken);
                    await stream.FlushAsync(cancellationToken);
                }
                if (_keepOpen)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
            }
            catch (Exception exception) when (exception is OperationCanceledException or IOException or HttpRequestException)
            {
                // The server answered and reset the request stream before reading all of it: that is the behaviour under test.
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
