using Courtyard.Authorization.Access;
using Courtyard.Authorization.Claims;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Authorization;

namespace Courtyard.Authorization.Enforcement;

/// <summary>
/// Enforces each RPC's declared rule before its handler runs, for every gRPC service of the process: an undeclared RPC
/// is refused (PERMISSION_DENIED), a call without a valid token to a non-anonymous RPC is UNAUTHENTICATED, and a scoped
/// rule is decided by <see cref="IAuthorizationService"/> against the request (<see cref="RpcAccessHandler"/>).
/// </summary>
public sealed class RpcAccessInterceptor(RpcAccessRegistry registry, IAuthorizationService authorization) : Interceptor
{
    /// <summary>
    /// Trailer set on every call that authorization stopped: <c>unauthenticated</c>, <c>denied</c> or <c>undeclared</c>. A
    /// handler's own UNAUTHENTICATED (a wrong password) has none, so tests can tell the two apart.
    /// </summary>
    public const string DecisionTrailer = "courtyard-access";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(request, context);
        return await continuation(request, context);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(request, context);
        await continuation(request, responseStream, context);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync<TRequest>(null, context);
        return await continuation(requestStream, context);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync<TRequest>(null, context);
        await continuation(requestStream, responseStream, context);
    }

    private async Task AuthorizeAsync<TRequest>(TRequest? request, ServerCallContext context)
    {
        var decision = registry.Find(context.Method);
        if (!decision.Declared)
        {
            throw Refused(StatusCode.PermissionDenied, "undeclared",
                $"此接口未声明访问规则，已拒绝。Permission denied: {context.Method} has no declared access rule.");
        }
        if (decision.Anonymous)
        {
            return;
        }
        var user = context.GetHttpContext().User;
        if (CourtyardCaller.From(user) is null)
        {
            throw Refused(StatusCode.Unauthenticated, "unauthenticated", GrpcAuthorizationResults.SignInMessage);
        }
        var rule = decision.Rule!;
        if (rule.Kind == RpcAccessKind.SignedIn)
        {
            return;
        }
        if (request is not Google.Protobuf.IMessage message)
        {
            throw Refused(StatusCode.PermissionDenied, "denied", $"无法判断访问范围。Permission denied: {context.Method} has no request to scope.");
        }
        var result = await authorization.AuthorizeAsync(user, new RpcRequestResource(message), new RpcAccessRequirement(rule));
        if (!result.Succeeded)
        {
            string reason = result.Failure?.FailureReasons.FirstOrDefault()?.Message ?? "无权操作。Permission denied.";
            throw Refused(StatusCode.PermissionDenied, "denied", reason);
        }
    }

    private static RpcException Refused(StatusCode code, string decision, string message) =>
        new(new Status(code, message), new Metadata { { DecisionTrailer, decision } });
}
