using Courtyard.Grpc.Protocol;
using Microsoft.AspNetCore.Http;

namespace Courtyard.Grpc.Server;

/// <summary>
/// Checks a request is a gRPC request we can serve before any handler runs, answering the ones we cannot:
/// HTTP/1.x → 426, non-gRPC content-type → 415, missing "te: trailers" → 400 (all with grpc-status INTERNAL),
/// unsupported grpc-encoding → UNIMPLEMENTED with grpc-accept-encoding, malformed grpc-timeout → INTERNAL.
/// </summary>
internal static class ServerProtocol
{
    public static bool TryAccept(HttpContext http, out bool requestGzip, out bool clientAcceptsGzip)
    {
        requestGzip = false;
        clientAcceptsGzip = false;
        var request = http.Request;
        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            Reject(http, StatusCodes.Status426UpgradeRequired, StatusCode.Internal, $"gRPC needs HTTP/2; this request used {request.Protocol}.");
            return false;
        }
        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            Reject(http, StatusCodes.Status415UnsupportedMediaType, StatusCode.Internal,
                $"Content-Type '{request.ContentType}' is not supported; gRPC needs 'application/grpc'.");
            return false;
        }
        var headers = request.Headers;
        if (!string.Equals(headers[GrpcProtocol.TeHeader], "trailers", StringComparison.OrdinalIgnoreCase))
        {
            Reject(http, StatusCodes.Status400BadRequest, StatusCode.Internal, "The request lacks the 'te: trailers' header that gRPC requires.");
            return false;
        }
        string? encoding = headers[GrpcProtocol.EncodingHeader];
        if (!string.IsNullOrEmpty(encoding) && !encoding.Equals(GrpcProtocol.Identity, StringComparison.OrdinalIgnoreCase))
        {
            if (!encoding.Equals(GrpcProtocol.Gzip, StringComparison.OrdinalIgnoreCase))
            {
                http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.SupportedEncodings;
                Reject(http, StatusCodes.Status200OK, StatusCode.Unimplemented,
                    $"Unsupported grpc-encoding '{encoding}'; this server accepts {GrpcProtocol.SupportedEncodings}.");
                return false;
            }
            requestGzip = true;
        }
        string? timeout = headers[GrpcProtocol.TimeoutHeader];
        if (!string.IsNullOrEmpty(timeout) && !GrpcTimeout.TryParse(timeout, out _))
        {
            Reject(http, StatusCodes.Status200OK, StatusCode.Internal, $"Malformed grpc-timeout '{timeout}'.");
            return false;
        }
        clientAcceptsGzip = GrpcProtocol.ListContains(headers[GrpcProtocol.AcceptEncodingHeader], GrpcProtocol.Gzip);
        return true;
    }

    /// <summary>A Trailers-Only answer: the status in the headers, no body.</summary>
    public static void Reject(HttpContext http, int httpStatus, StatusCode code, string message)
    {
        var response = http.Response;
        response.StatusCode = httpStatus;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusCodeString(code);
        response.Headers[GrpcProtocol.MessageHeader] = PercentEncoding.Encode(message);
    }
}
