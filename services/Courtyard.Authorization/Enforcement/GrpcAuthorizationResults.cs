using System.Text;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;

namespace Courtyard.Authorization.Enforcement;

/// <summary>
/// What a gRPC caller gets when the authorization middleware stops a call before its handler: a gRPC status with a
/// message a person can read (UNAUTHENTICATED, PERMISSION_DENIED), not a bare HTTP 401/403. Other endpoints (pages,
/// HTTP routes) get ASP.NET Core's default challenge and forbid.
/// </summary>
public sealed class GrpcAuthorizationResults : IAuthorizationMiddlewareResultHandler
{
    public const string SignInMessage = "请先登录（登录可能已过期）。Please sign in: the call carries no valid access token.";
    public const string ForbiddenMessage = "无权操作。Permission denied.";

    private readonly AuthorizationMiddlewareResultHandler fallback = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is null || authorizeResult.Succeeded)
        {
            return fallback.HandleAsync(next, context, policy, authorizeResult);
        }
        return authorizeResult.Challenged
            ? WriteStatusAsync(context, Grpc.Core.StatusCode.Unauthenticated, SignInMessage)
            : WriteStatusAsync(context, Grpc.Core.StatusCode.PermissionDenied, ForbiddenMessage);
    }

    /// <summary>A trailers-only gRPC response: HTTP 200 whose headers carry grpc-status and the percent-encoded message.</summary>
    private static Task WriteStatusAsync(HttpContext context, Grpc.Core.StatusCode code, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncode(message);
        response.Headers[RpcAccessInterceptor.DecisionTrailer] = code == Grpc.Core.StatusCode.Unauthenticated ? "unauthenticated" : "denied";
        return Task.CompletedTask;
    }

    /// <summary>gRPC's encoding of grpc-message: UTF-8 bytes outside printable ASCII, and '%', as %XX.</summary>
    private static string PercentEncode(string message)
    {
        var builder = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return builder.ToString();
    }
}
