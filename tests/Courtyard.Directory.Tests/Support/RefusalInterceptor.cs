using Courtyard.ServiceDefaults;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Courtyard.Directory.Tests.Support;

/// <summary>
/// Stand-in for the platform's one server interceptor (ServiceDefaults, being rewritten on Grpc.AspNetCore): a
/// <see cref="RequestRefusedException"/> reaches the caller as its status with "Chinese English". Delete once the test
/// host calls AddServiceDefaults.
/// </summary>
internal sealed class RefusalInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (RequestRefusedException e)
        {
            throw new RpcException(new Status(e.Code, e.Message));
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (RequestRefusedException e)
        {
            throw new RpcException(new Status(e.Code, e.Message));
        }
    }
}
