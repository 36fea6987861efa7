using Grpc.Core;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// A request the service refuses for a reason the caller can act on ("voting closes before it opens"). Thrown anywhere
/// (a gRPC handler or a grain: it crosses grain calls), it reaches the caller as <see cref="Code"/> with the message,
/// Chinese first, then English. Whoever throws it guarantees that nothing was changed.
/// </summary>
[GenerateSerializer, Alias("courtyard.request_refused")]
public sealed class RequestRefusedException : Exception
{
    public RequestRefusedException(StatusCode code, string chinese, string english)
        : base($"{chinese} {english}")
    {
        Code = code;
        Chinese = chinese;
        English = english;
    }

    [Id(0)] public StatusCode Code { get; }
    [Id(1)] public string Chinese { get; }
    [Id(2)] public string English { get; }

    /// <summary>The request itself is malformed or out of range (a missing title, an area of zero).</summary>
    public static RequestRefusedException InvalidArgument(string chinese, string english) => new(StatusCode.InvalidArgument, chinese, english);

    /// <summary>The request is well formed but the state does not allow it now (voting already closed).</summary>
    public static RequestRefusedException FailedPrecondition(string chinese, string english) => new(StatusCode.FailedPrecondition, chinese, english);

    public static RequestRefusedException NotFound(string chinese, string english) => new(StatusCode.NotFound, chinese, english);

    public static RequestRefusedException AlreadyExists(string chinese, string english) => new(StatusCode.AlreadyExists, chinese, english);

    public static RequestRefusedException PermissionDenied(string chinese, string english) => new(StatusCode.PermissionDenied, chinese, english);
}
