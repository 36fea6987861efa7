namespace Courtyard.Grpc;

/// <summary>The rest of the call pipeline: later interceptors, then the handler (reading requests, writing responses).</summary>
public delegate Task ServerCallContinuation(ServerCallContext context);

/// <summary>
/// Wraps every call of every service (authentication, logging, telemetry). Runs after the protocol checks and before
/// any request message is read. To reject, throw <see cref="RpcException"/> without calling <paramref name="next"/>.
/// Interceptors are singletons; take scoped services from context.HttpContext.RequestServices.
/// </summary>
public abstract class Interceptor
{
    public abstract Task InvokeAsync(ServerCallContext context, ServerCallContinuation next);
}
