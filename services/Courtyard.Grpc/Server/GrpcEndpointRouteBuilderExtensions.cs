using Courtyard.Grpc.Health;
using Courtyard.Grpc.Protocol;
using Courtyard.Grpc.Reflection;
using Courtyard.Grpc.Server;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Courtyard.Grpc;

public static class GrpcEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps every service registered with AddService, plus grpc.health.v1.Health and grpc.reflection.v1/v1alpha, and answers
    /// other gRPC paths with UNIMPLEMENTED. Throws if a proto method has no handler of the right shape (naming every one).
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcServices(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var provider = endpoints.ServiceProvider;
        var registry = provider.GetService<GrpcServiceRegistry>()
            ?? throw new InvalidOperationException("Call services.AddGrpcServer() before MapGrpcServices().");
        var options = provider.GetRequiredService<GrpcServerOptions>();
        var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("Courtyard.Grpc.Server");

        var services = new List<GrpcServiceRegistration>(registry.Services)
        {
            new(typeof(HealthService), global::Grpc.Health.V1.HealthReflection.Descriptor.Services[0], IsSingleton: true),
            new(typeof(ReflectionServiceV1), global::Grpc.Reflection.V1.ReflectionReflection.Descriptor.Services[0], IsSingleton: true),
            new(typeof(ReflectionServiceV1Alpha), global::Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor.Services[0], IsSingleton: true),
        };

        var interceptors = options.Interceptors.Entries
            .Select(entry => entry as Interceptor ?? (Interceptor)ActivatorUtilities.GetServiceOrCreateInstance(provider, (Type)entry))
            .ToList();
        var problems = new List<string>();
        var methods = new List<ServerMethod>();
        var serviceNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            if (!serviceNames.Add(service.Descriptor.FullName))
            {
                problems.Add($"{service.Descriptor.FullName} is registered more than once.");
                continue;
            }
            var resolve = Resolver(provider, service);
            methods.AddRange(ServiceBinder.Bind(service.ImplementationType, service.Descriptor, resolve, options, logger, problems));
        }
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("gRPC services cannot start:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }

        var conventions = new CompositeConventionBuilder();
        foreach (var method in methods)
        {
            method.BuildPipeline(interceptors);
            conventions.Add(endpoints.MapPost(method.Method.FullName, method.HandleAsync).WithDisplayName("gRPC " + method.Method.FullName));
        }
        // Lowest priority, so any other endpoint of the application wins over this catch-all.
        var unknownMethod = endpoints.MapPost("{service}/{method}", http => AnswerUnknownMethod(http, serviceNames))
            .WithDisplayName("gRPC unimplemented method");
        unknownMethod.Add(builder => ((RouteEndpointBuilder)builder).Order = int.MaxValue);
        conventions.Add(unknownMethod);

        var health = provider.GetRequiredService<HealthStatusService>();
        provider.GetRequiredService<ReflectionIndex>(); // built now so a broken descriptor set fails at startup
        health.SetStatus("", global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        foreach (var name in serviceNames)
        {
            health.SetStatus(name, global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        }
        return conventions;
    }

    private static Func<HttpContext, object> Resolver(IServiceProvider root, GrpcServiceRegistration service)
    {
        if (service.IsSingleton)
        {
            var instance = new Lazy<object>(() => root.GetRequiredService(service.ImplementationType));
            return _ => instance.Value;
        }
        var type = service.ImplementationType;
        return http => http.RequestServices.GetRequiredService(type);
    }

    private static Task AnswerUnknownMethod(HttpContext http, HashSet<string> serviceNames)
    {
        if (!GrpcProtocol.IsGrpcContentType(http.Request.ContentType))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        string service = (string)http.Request.RouteValues["service"]!;
        string method = (string)http.Request.RouteValues["method"]!;
        string message = serviceNames.Contains(service)
            ? $"Method '{method}' of service '{service}' is not implemented."
            : $"Service '{service}' is not implemented.";
        ServerProtocol.Reject(http, StatusCodes.Status200OK, StatusCode.Unimplemented, message);
        return Task.CompletedTask;
    }

    private sealed class CompositeConventionBuilder : IEndpointConventionBuilder
    {
        private readonly List<IEndpointConventionBuilder> _builders = new();

        public void Add(IEndpointConventionBuilder builder) => _builders.Add(builder);

        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in _builders)
            {
                builder.Add(convention);
            }
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var builder in _builders)
            {
                builder.Finally(finallyConvention);
            }
        }
    }
}
