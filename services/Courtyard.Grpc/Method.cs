using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Courtyard.Grpc;

/// <summary>The four gRPC call kinds.</summary>
public enum MethodType
{
    Unary,
    ServerStreaming,
    ClientStreaming,
    DuplexStreaming,
}

/// <summary>What both sides need to know about a method, without its message types.</summary>
public interface IMethod
{
    MethodType Type { get; }

    /// <summary>Fully qualified service name, e.g. "courtyard.interop.v1.Interop".</summary>
    string ServiceName { get; }

    /// <summary>Method name, e.g. "Echo".</summary>
    string Name { get; }

    /// <summary>The HTTP/2 path, e.g. "/courtyard.interop.v1.Interop/Echo".</summary>
    string FullName { get; }
}

/// <summary>A gRPC method with its protobuf request and response types. Create one per method and keep it (static field).</summary>
public sealed class Method<TRequest, TResponse> : IMethod
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    internal Method(MethodType type, string serviceName, string name, MessageParser<TRequest> requestParser, MessageParser<TResponse> responseParser, MethodDescriptor? descriptor)
    {
        Type = type;
        ServiceName = serviceName;
        Name = name;
        FullName = "/" + serviceName + "/" + name;
        RequestParser = requestParser;
        ResponseParser = responseParser;
        Descriptor = descriptor;
    }

    public MethodType Type { get; }

    public string ServiceName { get; }

    public string Name { get; }

    public string FullName { get; }

    public MessageParser<TRequest> RequestParser { get; }

    public MessageParser<TResponse> ResponseParser { get; }

    public MethodDescriptor? Descriptor { get; }

    public override string ToString() => FullName;
}

/// <summary>Factories that build <see cref="Method{TRequest,TResponse}"/> from generated protobuf descriptors.</summary>
public static class Method
{
    /// <summary>Builds a method from its descriptor, checking that the CLR types are the proto's input and output types.</summary>
    public static Method<TRequest, TResponse> FromDescriptor<TRequest, TResponse>(MethodDescriptor descriptor)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        string path = descriptor.Service.FullName + "/" + descriptor.Name;
        if (descriptor.InputType.ClrType != typeof(TRequest))
        {
            throw new ArgumentException($"Method {path} takes {descriptor.InputType.FullName} ({descriptor.InputType.ClrType?.Name}), not {typeof(TRequest).Name}.");
        }
        if (descriptor.OutputType.ClrType != typeof(TResponse))
        {
            throw new ArgumentException($"Method {path} returns {descriptor.OutputType.FullName} ({descriptor.OutputType.ClrType?.Name}), not {typeof(TResponse).Name}.");
        }
        return new Method<TRequest, TResponse>(TypeOf(descriptor), descriptor.Service.FullName, descriptor.Name,
            ParserOf<TRequest>(descriptor.InputType), ParserOf<TResponse>(descriptor.OutputType), descriptor);
    }

    /// <summary>Finds service <paramref name="serviceName"/> (short or full name) in <paramref name="file"/> and builds its method.</summary>
    public static Method<TRequest, TResponse> Create<TRequest, TResponse>(FileDescriptor file, string serviceName, string methodName)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(file);
        ServiceDescriptor? service = null;
        foreach (var candidate in file.Services)
        {
            if (candidate.Name == serviceName || candidate.FullName == serviceName)
            {
                service = candidate;
            }
        }
        if (service is null)
        {
            throw new ArgumentException($"File {file.Name} has no service named {serviceName}.");
        }
        var method = service.FindMethodByName(methodName)
            ?? throw new ArgumentException($"Service {service.FullName} has no method named {methodName}.");
        return FromDescriptor<TRequest, TResponse>(method);
    }

    /// <summary>The call kind that the proto declares (stream keywords on request and response).</summary>
    public static MethodType TypeOf(MethodDescriptor descriptor) => (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
    {
        (false, false) => MethodType.Unary,
        (false, true) => MethodType.ServerStreaming,
        (true, false) => MethodType.ClientStreaming,
        _ => MethodType.DuplexStreaming,
    };

    private static MessageParser<T> ParserOf<T>(MessageDescriptor descriptor)
        where T : class, IMessage<T>
    {
        return descriptor.Parser as MessageParser<T>
            ?? throw new ArgumentException($"Message {descriptor.FullName} has no generated parser for {typeof(T).Name}.");
    }
}
