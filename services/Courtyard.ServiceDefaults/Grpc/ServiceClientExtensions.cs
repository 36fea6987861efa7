using Grpc.Core;
using Grpc.Net.ClientFactory;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Courtyard.ServiceDefaults;

/// <summary>Typed gRPC clients of other Courtyard services, from Grpc.Net.ClientFactory.</summary>
public static class ServiceClientExtensions
{
    /// <summary>Where the address of a service is configured: <c>Courtyard:Services:&lt;service&gt;</c>, e.g. http://councils:5100.</summary>
    public const string AddressSection = "Courtyard:Services";

    /// <summary>
    /// Registers <typeparamref name="TClient"/> (a generated client, e.g. <c>Councils.CouncilsClient</c>) for injection.
    /// Its address is <c>Courtyard:Services:&lt;service&gt;</c>; when that is not set the service is taken to run in this
    /// process (the embedded host) and the client calls this process's own gRPC port. Inside a gRPC call the client
    /// passes on the caller's deadline, cancellation and <c>authorization</c> header, so the callee sees the same
    /// resident and never works past the moment the resident stopped waiting.
    /// </summary>
    public static IHttpClientBuilder AddServiceClient<TClient>(this IHostApplicationBuilder builder, string service)
        where TClient : ClientBase
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(service);
        builder.Services.AddHttpContextAccessor();
        return builder.Services
            .AddGrpcClient<TClient>((services, client) => client.Address = AddressOf(services, service))
            .ConfigureChannel(channel =>
            {
                channel.MaxReceiveMessageSize = ServiceGrpcExtensions.MaxMessageSize;
                channel.MaxSendMessageSize = ServiceGrpcExtensions.MaxMessageSize;
                // Traffic between services is cleartext h2c inside the host or the cluster network, and the token it
                // carries is the caller's own, already sent to us the same way.
                channel.UnsafeUseInsecureChannelCallCredentials = true;
            })
            .EnableCallContextPropagation(propagation => propagation.SuppressContextNotFoundErrors = true)
            .AddCallCredentials((_, metadata, services) =>
            {
                if (services.GetRequiredService<IHttpContextAccessor>().HttpContext?.Request.Headers.Authorization.ToString() is { Length: > 0 } token)
                {
                    metadata.Add("authorization", token);
                }
                return Task.CompletedTask;
            });
    }

    private static Uri AddressOf(IServiceProvider services, string service)
    {
        string? configured = services.GetRequiredService<IConfiguration>()[$"{AddressSection}:{service}"];
        if (string.IsNullOrWhiteSpace(configured))
        {
            return services.GetRequiredService<ServiceEndpoints>().GrpcAddress;
        }
        return Uri.TryCreate(configured, UriKind.Absolute, out var address) && address.Scheme is "http" or "https"
            ? address
            : throw new ServiceStartupException(
                $"配置有误：{AddressSection}:{service} \"{configured}\" 不是 http(s) 地址。\n" +
                $"Configuration error: {AddressSection}:{service} (Courtyard__Services__{service}) \"{configured}\" is not an http:// or https:// address.");
    }
}
