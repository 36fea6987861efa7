using Courtyard.Grpc.Health;
using Courtyard.Grpc.Reflection;
using Courtyard.Grpc.Server;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Courtyard.Grpc;

/// <summary>A service class registered with AddService, with the proto service it implements.</summary>
internal sealed record GrpcServiceRegistration(Type ImplementationType, ServiceDescriptor Descriptor, bool IsSingleton);

/// <summary>Everything AddGrpcServer collected; read by MapGrpcServices.</summary>
internal sealed class GrpcServiceRegistry
{
    public List<GrpcServiceRegistration> Services { get; } = new();
}

/// <summary>Returned by AddGrpcServer to register service classes.</summary>
public sealed class GrpcServerBuilder
{
    private readonly GrpcServiceRegistry _registry;

    internal GrpcServerBuilder(IServiceCollection services, GrpcServiceRegistry registry)
    {
        Services = services;
        _registry = registry;
    }

    public IServiceCollection Services { get; }

    /// <summary>
    /// Serves <paramref name="service"/> with <typeparamref name="TService"/>. The class is resolved from DI: scoped (one instance
    /// per call) unless you registered it yourself before this call (e.g. AddSingleton, then one instance serves every call).
    /// </summary>
    public GrpcServerBuilder AddService<TService>(ServiceDescriptor service)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(service);
        var existing = Services.LastOrDefault(d => d.ServiceType == typeof(TService));
        if (existing is null)
        {
            Services.AddScoped<TService>();
        }
        _registry.Services.Add(new GrpcServiceRegistration(typeof(TService), service, existing?.Lifetime == ServiceLifetime.Singleton));
        return this;
    }
}

public static class GrpcServiceCollectionExtensions
{
    /// <summary>Adds the gRPC server (plus grpc.health.v1 and server reflection, mapped by MapGrpcServices).</summary>
    public static GrpcServerBuilder AddGrpcServer(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var registry = services.FirstOrDefault(d => d.ServiceType == typeof(GrpcServiceRegistry))?.ImplementationInstance as GrpcServiceRegistry;
        var options = services.FirstOrDefault(d => d.ServiceType == typeof(GrpcServerOptions))?.ImplementationInstance as GrpcServerOptions;
        if (registry is null || options is null)
        {
            registry = new GrpcServiceRegistry();
            options = new GrpcServerOptions();
            services.AddSingleton(registry);
            services.AddSingleton(options);
            services.AddRouting();
            services.TryAddSingleton<HealthStatusService>();
            services.TryAddSingleton<HealthService>();
            services.TryAddSingleton<ReflectionServiceV1>();
            services.TryAddSingleton<ReflectionServiceV1Alpha>();
            services.TryAddSingleton<ReflectionIndex>();
        }
        configure?.Invoke(options);
        foreach (var entry in options.Interceptors.Entries)
        {
            if (entry is Type type)
            {
                services.TryAddSingleton(type);
            }
        }
        return new GrpcServerBuilder(services, registry);
    }
}
