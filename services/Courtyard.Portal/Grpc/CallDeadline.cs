using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Courtyard.Portal.Grpc;

/// <summary>
/// Every unary call the portal makes gets a deadline (<c>Courtyard:Portal:CallTimeout</c>, 15 s by default) unless it
/// has one: a service that went quiet then answers DEADLINE_EXCEEDED, and the page says the outcome is unknown, instead
/// of a resident waiting on a page that never loads. Streams (the live tally, the roll import) set their own.
/// </summary>
public sealed class CallDeadline(TimeSpan timeout) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        if (context.Options.Deadline is null)
        {
            context = new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithDeadline(DateTime.UtcNow + timeout));
        }
        return continuation(request, context);
    }
}
