using System.IO.Compression;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.ServiceDefaults;

/// <summary>The gRPC server every service runs: Grpc.AspNetCore with our error mapping, message limits and reflection.</summary>
public static class ServiceGrpcExtensions
{
    /// <summary>The largest message a service receives or sends (gRPC's customary default, stated once for both ways).</summary>
    public const int MaxMessageSize = 4 * 1024 * 1024;

    /// <summary>Configuration key: "gzip" compresses responses for clients that accept it; unset (the default) sends them as they are.</summary>
    public const string ResponseCompressionKey = "Courtyard:Grpc:ResponseCompression";

    internal static void AddServiceGrpc(this WebApplicationBuilder builder)
    {
        string? compression = builder.Configuration[ResponseCompressionKey];
        if (compression is { Length: > 0 } && compression != "gzip")
        {
            throw new ServiceStartupException(
                $"配置有误：{ResponseCompressionKey} 只能是 gzip 或不设置（当前为 \"{compression}\"）。\n" +
                $"Configuration error: {ResponseCompressionKey} (Courtyard__Grpc__ResponseCompression) \"{compression}\" is not gzip; leave it unset for no compression.");
        }
        // Registered, so Grpc.AspNetCore takes the one instance instead of constructing an interceptor per call.
        builder.Services.AddSingleton<ServerErrorInterceptor>();
        builder.Services.AddGrpc(options =>
        {
            options.Interceptors.Add<ServerErrorInterceptor>();
            options.MaxReceiveMessageSize = MaxMessageSize;
            options.MaxSendMessageSize = MaxMessageSize;
            // Exception texts (connection strings, keys) never reach a caller; ServerErrorInterceptor says what happened.
            options.EnableDetailedErrors = false;
            // Requests compressed with gzip are always accepted; compressing responses costs CPU on every call, so it is opt-in.
            options.ResponseCompressionAlgorithm = compression is { Length: > 0 } ? compression : null;
            options.ResponseCompressionLevel = CompressionLevel.Fastest;
        });
        builder.Services.AddGrpcReflection();
    }

    internal static void MapServiceGrpc(this WebApplication app)
    {
        // Serves grpc.reflection.v1 and grpc.reflection.v1alpha for every mapped gRPC service (grpcurl, Postman).
        app.MapGrpcReflectionService();
    }
}
