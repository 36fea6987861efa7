using System.Reflection;
using System.Text;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Courtyard.Grpc.Server;

/// <summary>
/// Binds each method of a proto service to the public method of the same name on a service class, once at startup,
/// into typed delegates (no reflection per call). Problems are collected so startup reports all of them at once.
/// </summary>
internal static class ServiceBinder
{
    public static List<ServerMethod> Bind(Type serviceType, ServiceDescriptor service, Func<HttpContext, object> resolveUntyped,
        GrpcServerOptions options, ILogger logger, List<string> problems)
    {
        var bound = new List<ServerMethod>();
        var resolve = (Delegate)typeof(ServiceBinder).GetMethod(nameof(TypedResolver), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(serviceType).Invoke(null, [resolveUntyped])!;
        foreach (var method in service.Methods)
        {
            var requestType = method.InputType.ClrType;
            var responseType = method.OutputType.ClrType;
            string path = $"{service.FullName}/{method.Name}";
            if (requestType is null || responseType is null)
            {
                problems.Add($"{path}: its message types have no generated C# classes.");
                continue;
            }
            var kind = Method.TypeOf(method);
            var expected = ExpectedParameters(kind, requestType, responseType);
            var expectedReturn = kind is MethodType.Unary or MethodType.ClientStreaming
                ? typeof(Task<>).MakeGenericType(responseType)
                : typeof(Task);
            var candidates = serviceType.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.Name == method.Name).ToList();
            var handler = candidates.FirstOrDefault(m => m.ReturnType == expectedReturn
                && m.GetParameters().Select(p => p.ParameterType).SequenceEqual(expected));
            string wanted = Describe(kind, method.Name, requestType, responseType, expectedReturn, expected);
            if (handler is null)
            {
                problems.Add(candidates.Count == 0
                    ? $"{path} ({KindName(kind)}) has no handler: add `{wanted}` to {serviceType.Name}."
                    : $"{path} ({KindName(kind)}): {serviceType.Name}.{method.Name} has the wrong signature `{Signature(candidates[0])}`; the proto needs `{wanted}`.");
                continue;
            }
            var typedMethod = typeof(Method).GetMethod(nameof(Method.FromDescriptor))!.MakeGenericMethod(requestType, responseType).Invoke(null, [method])!;
            var settings = new ServerMethodSettings((IMethod)typedMethod, options, logger);
            var (methodClass, delegateClass) = kind switch
            {
                MethodType.Unary => (typeof(UnaryServerMethod<,,>), typeof(UnaryHandler<,,>)),
                MethodType.ServerStreaming => (typeof(ServerStreamingServerMethod<,,>), typeof(ServerStreamingHandler<,,>)),
                MethodType.ClientStreaming => (typeof(ClientStreamingServerMethod<,,>), typeof(ClientStreamingHandler<,,>)),
                _ => (typeof(DuplexStreamingServerMethod<,,>), typeof(DuplexStreamingHandler<,,>)),
            };
            Type[] typeArguments = [serviceType, requestType, responseType];
            var invoker = Delegate.CreateDelegate(delegateClass.MakeGenericType(typeArguments), null, handler);
            bound.Add((ServerMethod)Activator.CreateInstance(methodClass.MakeGenericType(typeArguments), typedMethod, settings, resolve, invoker)!);
        }
        return bound;
    }

    private static Func<HttpContext, TService> TypedResolver<TService>(Func<HttpContext, object> resolve) => http => (TService)resolve(http);

    private static Type[] ExpectedParameters(MethodType kind, Type request, Type response) => kind switch
    {
        MethodType.Unary => [request, typeof(ServerCallContext)],
        MethodType.ServerStreaming => [request, typeof(IServerStreamWriter<>).MakeGenericType(response), typeof(ServerCallContext)],
        MethodType.ClientStreaming => [typeof(IAsyncStreamReader<>).MakeGenericType(request), typeof(ServerCallContext)],
        _ => [typeof(IAsyncStreamReader<>).MakeGenericType(request), typeof(IServerStreamWriter<>).MakeGenericType(response), typeof(ServerCallContext)],
    };

    private static string KindName(MethodType kind) => kind switch
    {
        MethodType.Unary => "unary",
        MethodType.ServerStreaming => "server streaming",
        MethodType.ClientStreaming => "client streaming",
        _ => "bidirectional streaming",
    };

    private static string Describe(MethodType kind, string name, Type request, Type response, Type returnType, Type[] parameters)
    {
        string[] names = kind switch
        {
            MethodType.Unary => ["request", "context"],
            MethodType.ServerStreaming => ["request", "responses", "context"],
            MethodType.ClientStreaming => ["requests", "context"],
            _ => ["requests", "responses", "context"],
        };
        var text = new StringBuilder();
        text.Append("public ").Append(TypeName(returnType)).Append(' ').Append(name).Append('(');
        for (int i = 0; i < parameters.Length; i++)
        {
            text.Append(i > 0 ? ", " : "").Append(TypeName(parameters[i])).Append(' ').Append(names[i]);
        }
        return text.Append(')').ToString();
    }

    private static string Signature(MethodInfo method)
        => $"{TypeName(method.ReturnType)} {method.Name}({string.Join(", ", method.GetParameters().Select(p => TypeName(p.ParameterType)))})";

    private static string TypeName(Type type) => type.IsGenericType
        ? $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>"
        : type.Name;
}
