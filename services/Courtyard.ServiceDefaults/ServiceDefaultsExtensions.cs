using Courtyard.Authorization;
using Courtyard.Authorization.Enforcement;
using Courtyard.Events.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// What every Courtyard service host shares, so its Program.cs stays about ten lines (dotnet/eShop's ServiceDefaults):
/// <code>
/// var builder = WebApplication.CreateBuilder(args);
/// builder.AddServiceDefaults("councils");   // Kestrel on two ports, gRPC, health, reflection, telemetry, logging
/// builder.AddServiceStorage("councils");    // the Orleans silo and the service's grain storage
/// builder.AddCouncils();                    // the service's own: grains, gRPC services, events
/// var app = builder.Build();
/// app.MapServiceDefaults();                 // health (gRPC and /healthz), reflection, /metrics, EventAdmin
/// app.MapCouncils();
/// app.Run();
/// </code>
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// Kestrel on two ports (h2c for gRPC, HTTP/1.1 for everything else), the gRPC server with the platform's error
    /// mapping, health checks, reflection, OpenTelemetry and console logging. <paramref name="serviceName"/> is the
    /// process's stable name ("councils"; "platform" for the embedded host); ports and the data folder come from the
    /// "Courtyard" configuration section (<see cref="ServiceOptions"/>).
    /// </summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = ServiceOptions.From(builder.Configuration, serviceName);
        System.IO.Directory.CreateDirectory(options.DataDir);
        builder.Services.AddSingleton(options);

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss ";
        });
        // Request-by-request framework logs drown everything else; traces and metrics cover calls.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Switched off entirely: while this category is enabled at any level, ASP.NET Core opens a log scope and an
        // Activity for every request (measured: about half of a plain Grpc.AspNetCore server's throughput here).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        // Orleans' placement runs through a Polly pipeline that logs every attempt at Information.
        builder.Logging.AddFilter("Polly", LogLevel.Warning);

        var endpoints = new ServiceEndpoints();
        builder.Services.AddSingleton(endpoints);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // gRPC needs HTTP/2; without TLS there is no protocol negotiation, so this port speaks HTTP/2 only (h2c).
            kestrel.Listen(options.ListenAddress, options.GrpcPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                endpoints.GrpcListen = listen;
            });
            kestrel.Listen(options.ListenAddress, options.HttpPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                endpoints.HttpListen = listen;
            });
        });

        builder.AddServiceGrpc();
        builder.AddServiceHealthChecks();
        builder.AddServiceTelemetry(options);

        // Authorization (services/Courtyard.Authorization): JWT bearer validation of Directory's access tokens and every
        // gRPC service's access table, enforced before its handlers run. An RPC no table declares is refused; health
        // and reflection are anonymous, and so are /healthz and /metrics (MapServiceDefaults). WebApplication runs
        // UseAuthentication/UseAuthorization before the endpoints on its own.
        builder.AddCourtyardAuthorization();
        builder.Services.AddRpcAccess(EventAdminAccess.Table);
        builder.Services.AddHostedService<TokenKeysStartupCheck>();
        return builder;
    }

    /// <summary>
    /// Maps grpc.health.v1 and server reflection (v1 and v1alpha) on the gRPC port, and <c>GET /healthz</c> (readiness,
    /// as the gRPC health check's "" service) and <c>GET /metrics</c> (Prometheus) for plain HTTP clients.
    /// </summary>
    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapServiceGrpc();
        app.MapServiceHealthChecks();
        app.MapServiceTelemetry();
        // Integration events (Courtyard.Events.Hosting), when a service added an event bus: EventAdmin, and with the Dapr
        // transport Dapr's subscription routes on the HTTP/1.1 port. AddEventBus registered the "broker" readiness check.
        if (app.Services.GetService<Courtyard.Events.Hosting.EventBusRegistry>() is not null)
        {
            app.MapEventBus(admin => admin.RequireRpcAccess(EventAdminAccess.Table));
        }
        return app;
    }
}
