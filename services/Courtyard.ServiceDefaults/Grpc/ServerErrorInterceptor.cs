using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Storage;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// The one place where what a handler or a grain throws becomes what the caller reads (TEAM convention 4): a
/// <see cref="RequestRefusedException"/> keeps its status and bilingual message; Orleans' conflicts, unreachable silos
/// and timeouts become ABORTED, UNAVAILABLE and DEADLINE_EXCEEDED with a message a person understands; anything else is
/// INTERNAL with a generic message and a reference to the logged error — never an exception text or a stack trace.
/// A request stream that cannot be read (bad framing or protobuf, seen while a streaming handler reads it) is the
/// caller's fault: INTERNAL with a message saying so, logged without a stack. An <see cref="RpcException"/> a handler
/// threw, and the cancellation of a call its caller gave up on, pass unchanged. (A unary request is read before any
/// interceptor runs: Grpc.AspNetCore answers its framing errors itself.)
/// </summary>
internal sealed partial class ServerErrorInterceptor(ILogger<ServerErrorInterceptor> logger) : Interceptor
{
    public const string ConflictMessage = "数据刚被其他操作修改，请重试。The record was changed by another request; please retry.";
    public const string UnavailableMessage = "服务暂时不可用，请稍后重试。The service is briefly unavailable; please try again shortly.";
    public const string OutcomeUnknownMessage =
        "数据库连接中断，此次操作可能已生效也可能未生效；请用同一请求重试。The database connection dropped; the request may or may not have taken effect — retry it with the same request id.";
    public const string BusyMessage = "系统繁忙，请稍后重试。The service did not answer in time; please try again shortly.";
    public const string InternalMessagePrefix = "服务器内部错误，请稍后重试。The server failed to handle the request; please try again later.";
    public const string MalformedMessage = "请求格式有误，无法读取。The request is malformed and could not be read.";

    private static readonly System.Reflection.Assembly GrpcServer = typeof(global::Grpc.AspNetCore.Server.GrpcServiceOptions).Assembly;
    private static readonly System.Reflection.Assembly Compression = typeof(System.IO.Compression.GZipStream).Assembly;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (NeedsTranslation(e, context))
        {
            throw Translate(e, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception e) when (NeedsTranslation(e, context))
        {
            throw Translate(e, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (NeedsTranslation(e, context))
        {
            throw Translate(e, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception e) when (NeedsTranslation(e, context))
        {
            throw Translate(e, context);
        }
    }

    // A handler's own RpcException is its chosen status; a cancellation after the caller left is reported by Grpc.AspNetCore.
    private static bool NeedsTranslation(Exception e, ServerCallContext context) =>
        e is not RpcException && !(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested);

    private RpcException Translate(Exception e, ServerCallContext context)
    {
        switch (e)
        {
            case RequestRefusedException refused:
                LogRefused(logger, context.Method, refused.Code, refused.English);
                return new RpcException(new Status(refused.Code, refused.Message));
            case InconsistentStateException:
                LogConflict(logger, context.Method, e.Message);
                return new RpcException(new Status(StatusCode.Aborted, ConflictMessage));
            case Courtyard.Storage.StorageOutcomeUnknownException:
                LogUnavailable(logger, context.Method, e.GetType().Name, e.Message);
                return new RpcException(new Status(StatusCode.Unavailable, OutcomeUnknownMessage));
            case SiloUnavailableException or OrleansMessageRejectionException:
                LogUnavailable(logger, context.Method, e.GetType().Name, e.Message);
                return new RpcException(new Status(StatusCode.Unavailable, UnavailableMessage));
            case TimeoutException:
                LogTimeout(logger, context.Method, e.Message);
                return new RpcException(new Status(StatusCode.DeadlineExceeded, BusyMessage));
            case Google.Protobuf.InvalidProtocolBufferException:
            case var _ when e.TargetSite?.DeclaringType?.Assembly is { } thrower && (thrower == GrpcServer || thrower == Compression):
                LogMalformed(logger, context.Method, e.GetType().Name, e.Message);
                return new RpcException(new Status(StatusCode.Internal, MalformedMessage));
            default:
                string reference = Activity.Current?.TraceId.ToString() ?? context.GetHttpContext().TraceIdentifier;
                LogFailed(logger, e, context.Method, reference);
                return new RpcException(new Status(StatusCode.Internal, $"{InternalMessagePrefix}（编号 reference {reference}）"));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} refused with {Code}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, StatusCode code, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} lost a write race and was aborted: {Detail}")]
    private static partial void LogConflict(ILogger logger, string method, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} could not reach the grain's silo ({Exception}): {Detail}")]
    private static partial void LogUnavailable(ILogger logger, string method, string exception, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} timed out: {Detail}")]
    private static partial void LogTimeout(ILogger logger, string method, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} received a request it could not read ({Exception}): {Detail}")]
    private static partial void LogMalformed(ILogger logger, string method, string exception, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} failed (reference {Reference})")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method, string reference);
}
