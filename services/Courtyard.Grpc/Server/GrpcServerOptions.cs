namespace Courtyard.Grpc;

/// <summary>Server-wide settings, configured in AddGrpcServer.</summary>
public sealed class GrpcServerOptions
{
    private readonly List<(Type Type, Func<Exception, Status> Map)> _exceptionMappings = new();

    /// <summary>Largest request message accepted (after decompression); larger ones end the call with RESOURCE_EXHAUSTED. Default 4 MiB.</summary>
    public int MaxReceiveMessageSize { get; set; } = Protocol.GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest response message a handler may send (RESOURCE_EXHAUSTED beyond); null = unlimited (default).</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>"gzip" to compress responses for clients that list gzip in grpc-accept-encoding; null (default) = never.</summary>
    public string? ResponseCompression { get; set; }

    /// <summary>Interceptors in the order they wrap calls (the first one is outermost).</summary>
    public InterceptorCollection Interceptors { get; } = new();

    /// <summary>Answers exceptions of type <typeparamref name="TException"/> (or derived) thrown by handlers with a chosen status.</summary>
    public GrpcServerOptions MapException<TException>(Func<TException, Status> map)
        where TException : Exception
    {
        ArgumentNullException.ThrowIfNull(map);
        _exceptionMappings.Add((typeof(TException), e => map((TException)e)));
        return this;
    }

    internal bool TryMapException(Exception exception, out Status status)
    {
        // The most recently added mapping wins, so specific mappings can follow general ones.
        for (int i = _exceptionMappings.Count - 1; i >= 0; i--)
        {
            if (_exceptionMappings[i].Type.IsInstanceOfType(exception))
            {
                status = _exceptionMappings[i].Map(exception);
                return true;
            }
        }
        status = default;
        return false;
    }
}

/// <summary>Interceptor types (resolved from DI as singletons) and instances.</summary>
public sealed class InterceptorCollection
{
    internal List<object> Entries { get; } = new();

    public void Add<TInterceptor>()
        where TInterceptor : Interceptor => Entries.Add(typeof(TInterceptor));

    public void Add(Interceptor interceptor) => Entries.Add(interceptor ?? throw new ArgumentNullException(nameof(interceptor)));
}
