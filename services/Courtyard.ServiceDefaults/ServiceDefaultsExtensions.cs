using Courtyard.Events.Dapr;
using Courtyard.Events.Transports;
using Courtyard.Grpc;
using Courtyard.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// What every Courtyard service shares, so its Program.cs stays about ten lines:
/// <code>
/// var builder = WebApplication.CreateSlimBuilder(args);
/// builder.AddServiceDefaults();
/// builder.AddStatefulServiceDefaults();   // storage, grains, events (a service that keeps state)
/// builder.AddCouncils();                  // the service's own extension: services.AddGrpcServer().AddService&lt;…&gt;(…)
/// var app = builder.Build();
/// app.MapServiceDefaults();
/// app.Run();
/// </code>
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>What a caller reads when its write lost a race with another request (zh-CN first).</summary>
    public const string ConcurrencyConflictMessage =
        "数据刚被其他操作修改，请重试。The record was changed by another request; please retry.";

    /// <summary>What a caller reads when a grain did not answer within its call timeout.</summary>
    public const string BusyMessage =
        "系统繁忙，请稍后重试。The courtyard's records are busy; please try again shortly.";

    /// <summary>
    /// Logging, OpenTelemetry export (when OTEL_EXPORTER_OTLP_ENDPOINT is set), the gRPC server with the platform's
    /// exception mapping, and Kestrel on two ports: h2c for gRPC and HTTP/1.1 for everything else.
    /// Ports and data folder come from the "Courtyard" configuration section (<see cref="ServiceOptions"/>).
    /// </summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, Action<GrpcServerOptions>? configureGrpc = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = ServiceOptions.From(builder.Configuration);
        System.IO.Directory.CreateDirectory(options.DataDir);
        builder.Services.AddSingleton(options);

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss ";
        });
        // Request-by-request framework logs drown everything else; our own gRPC telemetry covers calls.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddHostedService<ServiceTelemetry>();

        var endpoints = new ServiceEndpoints();
        builder.Services.AddSingleton(endpoints);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenGrpc(options.ListenAddress, options.GrpcPort, listen => endpoints.GrpcListen = listen);
            kestrel.Listen(options.ListenAddress, options.HttpPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                endpoints.HttpListen = listen;
            });
        });

        builder.Services.AddGrpcServer(grpc =>
        {
            // How the building blocks' failures reach a caller; everything else unexpected stays UNKNOWN (and is logged).
            grpc.MapException<InconsistentStateException>(_ => new Status(StatusCode.Aborted, ConcurrencyConflictMessage));
            grpc.MapException<TimeoutException>(_ => new Status(StatusCode.DeadlineExceeded, BusyMessage));
            grpc.MapException<Courtyard.Grains.DeadlockException>(e => new Status(StatusCode.Internal, "内部错误：调用形成了环。Internal error: " + e.Message));
            configureGrpc?.Invoke(grpc);
        });
        return builder;
    }

    /// <summary>
    /// Maps every registered gRPC service (plus health and reflection), <c>GET /healthz</c> for plain HTTP checks, and,
    /// when the event transport is dapr, the sidecar's callbacks (<c>GET /dapr/subscribe</c>, <c>POST /dapr/events/{topic}</c>).
    /// With <see cref="StatefulServiceDefaultsExtensions.AddStatefulServiceDefaults"/> it also opens the database and creates
    /// the event transport, so a wrong setting or an unreachable database throws <see cref="ServiceStartupException"/>
    /// here, before the service listens. Call after the services' own Add… methods registered their gRPC services.
    /// </summary>
    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcServices();
        _ = app.Services.GetService<IStorageProvider>();
        if (app.Services.GetService<IEventTransport>() is DaprTransport dapr)
        {
            app.MapDaprEvents(dapr);
        }
        app.MapGet("/healthz", (HealthStatusService health) =>
            health.TryGetStatus("", out var status) && status == global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving
                ? Results.Text("SERVING")
                : Results.Text("NOT_SERVING", statusCode: StatusCodes.Status503ServiceUnavailable));
        return app;
    }
}
