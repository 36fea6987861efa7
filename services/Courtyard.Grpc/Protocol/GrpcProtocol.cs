using System.Net;

namespace Courtyard.Grpc.Protocol;

/// <summary>Names and rules of grpc's PROTOCOL-HTTP2 shared by server and client.</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string TeHeader = "te";
    public const string Identity = "identity";
    public const string Gzip = "gzip";
    /// <summary>What we accept (sent in grpc-accept-encoding).</summary>
    public const string SupportedEncodings = "identity,gzip";
    public const int FrameHeaderSize = 5;
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    private static readonly string[] StatusCodeStrings = Enumerable.Range(0, 17).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public static string StatusCodeString(StatusCode code)
    {
        int value = (int)code;
        return (uint)value < (uint)StatusCodeStrings.Length ? StatusCodeStrings[value] : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>"application/grpc", "application/grpc+proto" and the same with parameters (";charset=...").</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        if (contentType.Length == ContentType.Length)
        {
            return true;
        }
        var rest = contentType.AsSpan(ContentType.Length);
        int parameters = rest.IndexOf(';');
        var subtype = (parameters >= 0 ? rest[..parameters] : rest).Trim();
        return subtype.IsEmpty || subtype.Equals("+proto", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True if the comma-separated list (e.g. grpc-accept-encoding) names the encoding.</summary>
    public static bool ListContains(string? list, string encoding)
    {
        if (string.IsNullOrEmpty(list))
        {
            return false;
        }
        foreach (var range in list.AsSpan().Split(','))
        {
            if (list.AsSpan()[range].Trim().Equals(encoding, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>grpc's mapping from an HTTP status of a response that is not a gRPC response (doc/http-grpc-status-mapping.md).</summary>
    public static StatusCode FromHttpStatus(HttpStatusCode status) => (int)status switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    /// <summary>Parses "grpc-status" leniently: anything that is not a number becomes UNKNOWN.</summary>
    public static StatusCode ParseStatusCode(string? value)
    {
        return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int code)
            ? (StatusCode)code
            : StatusCode.Unknown;
    }

    /// <summary>Headers that belong to the protocol and never appear in user-visible Metadata.</summary>
    public static bool IsReservedHeader(string key)
    {
        if (key.Length == 0 || key[0] == ':')
        {
            return true;
        }
        return key.Equals("content-type", StringComparison.OrdinalIgnoreCase)
            || key.Equals("te", StringComparison.OrdinalIgnoreCase)
            || key.Equals("host", StringComparison.OrdinalIgnoreCase)
            || key.Equals("content-length", StringComparison.OrdinalIgnoreCase)
            || key.Equals("accept-encoding", StringComparison.OrdinalIgnoreCase)
            || key.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Adds one wire header to metadata; a "-bin" header may hold several comma-separated base64 values.</summary>
    public static void AddWireHeader(Metadata metadata, string key, string value)
    {
        string lowerKey = key.ToLowerInvariant();
        if (!Metadata.IsBinaryKey(lowerKey))
        {
            metadata.Add(Metadata.Entry.FromWire(lowerKey, value));
            return;
        }
        foreach (var range in value.AsSpan().Split(','))
        {
            var part = value.AsSpan()[range].Trim();
            metadata.Add(Metadata.Entry.FromWire(lowerKey, Base64.Decode(part)));
        }
    }

    /// <summary>Formats a metadata entry's value for a header.</summary>
    public static string WireValue(Metadata.Entry entry) => entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value;
}

/// <summary>Base64 that accepts padded and unpadded input (gRPC implementations send both).</summary>
internal static class Base64
{
    public static byte[] Decode(ReadOnlySpan<char> text)
    {
        int padding = (4 - text.Length % 4) % 4;
        if (padding == 3)
        {
            throw new FormatException("Invalid base64 length in binary metadata.");
        }
        if (padding == 0)
        {
            return Convert.FromBase64String(text.ToString());
        }
        return Convert.FromBase64String(string.Concat(text, "==".AsSpan(0, padding)));
    }
}
