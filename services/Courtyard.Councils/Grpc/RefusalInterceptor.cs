using Courtyard.ServiceDefaults;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Courtyard.Councils.Grpc;

/// <summary>
/// INTERIM, until ServiceDefaults' one server interceptor lands (platform): maps RequestRefusedException to its status
/// with the Chinese then English message, Orleans' InconsistentStateException to ABORTED, anything else to INTERNAL
/// with a generic bilingual message (logged, never a stack trace). Delete on merge.
/// </summary>
public sealed class RefusalInterceptor(ILogger<RefusalInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(request, context); }
        catch (Exception error) when (error is not RpcException) { throw Map(error, context); }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(request, responseStream, context); }
        catch (Exception error) when (error is not RpcException) { throw Map(error, context); }
    }

    private RpcException Map(Exception error, ServerCallContext context) => error switch
    {
        RequestRefusedException refused => new RpcException(new Status(refused.Code, $"{refused.Chinese} {refused.English}")),
        Orleans.Storage.InconsistentStateException => new RpcException(new Status(StatusCode.Aborted, "数据刚被其他操作修改，请重试。The record was changed by another request; please retry.")),
        TimeoutException => new RpcException(new Status(StatusCode.DeadlineExceeded, "系统繁忙，请稍后重试。The service did not answer in time; please try again shortly.")),
        _ => Unexpected(error, context),
    };

    private RpcException Unexpected(Exception error, ServerCallContext context)
    {
        logger.LogError(error, "{Method} failed", context.Method);
        return new RpcException(new Status(StatusCode.Internal, "服务内部错误，请稍后重试。An internal error occurred; please try again later."));
    }
}
