using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// Traces and metrics with OpenTelemetry.Extensions.Hosting: ASP.NET Core (every gRPC call is an ASP.NET Core request),
/// HttpClient and Grpc.Net.Client (calls to other services), Orleans, Npgsql and our own <c>Courtyard.*</c> sources and
/// meters. Exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; metrics are always scrapeable at
/// <c>GET /metrics</c> (Prometheus text format) on the HTTP/1.1 port. Traces are recorded only when something receives
/// them: an OTLP endpoint, or <c>Courtyard:Telemetry:Tracing=true</c> for an exporter added in code (tests add an
/// in-memory one) — a span nobody receives costs every call for nothing.
/// </summary>
public static class ServiceTelemetryExtensions
{
    /// <summary>Trace sources besides the instrumentations': gRPC clients, Orleans (runtime, grain calls, storage, lifecycle), Npgsql and ours.</summary>
    public static readonly IReadOnlyList<string> TraceSources =
        ["Grpc.Net.Client", "Microsoft.Orleans.*", "Courtyard.*"];

    /// <summary>Meters besides the instrumentations': Kestrel, Orleans and ours.</summary>
    public static readonly IReadOnlyList<string> Meters =
        ["Microsoft.AspNetCore.Server.Kestrel", "Microsoft.Orleans", "Courtyard.*"];

    /// <summary>Set: export traces and metrics over OTLP (the exporter reads the other OTEL_EXPORTER_OTLP_* variables itself).</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Configuration key: true records traces even without an OTLP endpoint (for an exporter added in code).</summary>
    public const string TracingKey = "Courtyard:Telemetry:Tracing";

    internal static void AddServiceTelemetry(this WebApplicationBuilder builder, ServiceOptions options)
    {
        bool otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.TelemetryName))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddMeter([.. Meters])
                .AddPrometheusExporter());
        if (otlp || builder.Configuration.GetValue<bool>(TracingKey))
        {
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(aspNetCore =>
                    // Probes and scrapes every few seconds would bury the calls people make.
                    aspNetCore.Filter = http => http.Request.Path.Value is not ("/healthz" or "/metrics" or "/grpc.health.v1.Health/Check" or "/grpc.health.v1.Health/Watch"))
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddSource([.. TraceSources]));
        }
        if (otlp)
        {
            telemetry.UseOtlpExporter();
        }
    }

    internal static void MapServiceTelemetry(this WebApplication app) => app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
}
