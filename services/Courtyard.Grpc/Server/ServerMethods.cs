using Courtyard.Grpc.Protocol;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Courtyard.Grpc.Server;

/// <summary>What a bound method needs at call time, computed once at startup.</summary>
internal sealed class ServerMethodSettings
{
    public ServerMethodSettings(IMethod method, GrpcServerOptions options, ILogger logger)
    {
        Type = method.Type;
        Path = method.FullName;
        ServiceName = method.ServiceName;
        MethodName = method.Name;
        SpanName = method.FullName.Substring(1);
        Options = options;
        Logger = logger;
        ResponseGzip = string.Equals(options.ResponseCompression, GrpcProtocol.Gzip, StringComparison.OrdinalIgnoreCase);
    }

    public MethodType Type { get; }

    public string Path { get; }

    public string ServiceName { get; }

    public string MethodName { get; }

    public string SpanName { get; }

    public GrpcServerOptions Options { get; }

    public ILogger Logger { get; }

    public bool ResponseGzip { get; }
}

/// <summary>A proto method bound to its handler: the endpoint's request delegate.</summary>
internal abstract class ServerMethod
{
    public abstract IMethod Method { get; }

    public abstract Task HandleAsync(HttpContext http);

    public abstract void BuildPipeline(IReadOnlyList<Interceptor> interceptors);
}

/// <summary>Protocol checks shared by every method, then the call pipeline (interceptors, then the kind-specific handler).</summary>
internal abstract class ServerMethod<TRequest, TResponse> : ServerMethod
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private ServerCallContinuation? _pipeline;

    protected ServerMethod(Method<TRequest, TResponse> method, ServerMethodSettings settings)
    {
        TypedMethod = method;
        Settings = settings;
    }

    public override IMethod Method => TypedMethod;

    public Method<TRequest, TResponse> TypedMethod { get; }

    public ServerMethodSettings Settings { get; }

    public override void BuildPipeline(IReadOnlyList<Interceptor> interceptors)
    {
        ServerCallContinuation pipeline = context => InvokeHandlerAsync((HttpServerCall<TRequest, TResponse>)context);
        for (int i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var next = pipeline;
            pipeline = context => interceptor.InvokeAsync(context, next);
        }
        _pipeline = pipeline;
    }

    public override Task HandleAsync(HttpContext http)
    {
        if (!ServerProtocol.TryAccept(http, out bool requestGzip, out bool clientAcceptsGzip))
        {
            return Task.CompletedTask;
        }
        var call = new HttpServerCall<TRequest, TResponse>(http, Settings, TypedMethod.RequestParser, requestGzip);
        var timeout = http.Request.Headers[GrpcProtocol.TimeoutHeader];
        return call.RunAsync(_pipeline!, StringValues.IsNullOrEmpty(timeout) ? null : timeout.ToString(), Settings.ResponseGzip && clientAcceptsGzip);
    }

    protected abstract Task InvokeHandlerAsync(HttpServerCall<TRequest, TResponse> call);
}

internal delegate Task<TResponse> UnaryHandler<TService, TRequest, TResponse>(TService service, TRequest request, ServerCallContext context);

internal delegate Task ServerStreamingHandler<TService, TRequest, TResponse>(TService service, TRequest request, IServerStreamWriter<TResponse> responses, ServerCallContext context);

internal delegate Task<TResponse> ClientStreamingHandler<TService, TRequest, TResponse>(TService service, IAsyncStreamReader<TRequest> requests, ServerCallContext context);

internal delegate Task DuplexStreamingHandler<TService, TRequest, TResponse>(TService service, IAsyncStreamReader<TRequest> requests, IServerStreamWriter<TResponse> responses, ServerCallContext context);

internal sealed class UnaryServerMethod<TService, TRequest, TResponse>(
    Method<TRequest, TResponse> method, ServerMethodSettings settings, Func<HttpContext, TService> resolve, UnaryHandler<TService, TRequest, TResponse> handler)
    : ServerMethod<TRequest, TResponse>(method, settings)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    protected override async Task InvokeHandlerAsync(HttpServerCall<TRequest, TResponse> call)
    {
        var request = await call.ReadSingleRequestAsync().ConfigureAwait(false);
        var response = await handler(resolve(call.HttpContext), request, call).ConfigureAwait(false);
        call.WriteResponseMessage(response ?? throw new InvalidOperationException($"Handler of {Settings.Path} returned null."));
    }
}

internal sealed class ServerStreamingServerMethod<TService, TRequest, TResponse>(
    Method<TRequest, TResponse> method, ServerMethodSettings settings, Func<HttpContext, TService> resolve, ServerStreamingHandler<TService, TRequest, TResponse> handler)
    : ServerMethod<TRequest, TResponse>(method, settings)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    protected override async Task InvokeHandlerAsync(HttpServerCall<TRequest, TResponse> call)
    {
        var request = await call.ReadSingleRequestAsync().ConfigureAwait(false);
        await handler(resolve(call.HttpContext), request, call, call).ConfigureAwait(false);
    }
}

internal sealed class ClientStreamingServerMethod<TService, TRequest, TResponse>(
    Method<TRequest, TResponse> method, ServerMethodSettings settings, Func<HttpContext, TService> resolve, ClientStreamingHandler<TService, TRequest, TResponse> handler)
    : ServerMethod<TRequest, TResponse>(method, settings)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    protected override async Task InvokeHandlerAsync(HttpServerCall<TRequest, TResponse> call)
    {
        var response = await handler(resolve(call.HttpContext), call, call).ConfigureAwait(false);
        call.WriteResponseMessage(response ?? throw new InvalidOperationException($"Handler of {Settings.Path} returned null."));
    }
}

internal sealed class DuplexStreamingServerMethod<TService, TRequest, TResponse>(
    Method<TRequest, TResponse> method, ServerMethodSettings settings, Func<HttpContext, TService> resolve, DuplexStreamingHandler<TService, TRequest, TResponse> handler)
    : ServerMethod<TRequest, TResponse>(method, settings)
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    protected override Task InvokeHandlerAsync(HttpServerCall<TRequest, TResponse> call) => handler(resolve(call.HttpContext), call, call, call);
}
