using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// Exports traces and metrics over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads the standard
/// OTEL_* variables itself). OpenTelemetry.Extensions.Hosting does not restore here, so the providers are built
/// with the SDK directly and live exactly as long as this hosted service.
/// </summary>
internal sealed class ServiceTelemetry(ServiceOptions options, ILogger<ServiceTelemetry> logger) : IHostedService, IDisposable
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Our own sources (Courtyard.Grpc, Courtyard.Grains, Courtyard.Events, …) and ASP.NET Core's requests.</summary>
    private static readonly string[] TraceSources = ["Courtyard.*", "Microsoft.AspNetCore"];

    private static readonly string[] Meters =
        ["Courtyard.*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime", "System.Net.Http"];

    private TracerProvider? _tracing;
    private MeterProvider? _metrics;

    public static bool ExportConfigured => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(EndpointVariable));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!ExportConfigured)
        {
            logger.LogDebug("Telemetry export is off ({Variable} is not set).", EndpointVariable);
            return Task.CompletedTask;
        }
        var resource = ResourceBuilder.CreateDefault().AddService(options.TelemetryName);
        _tracing = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(TraceSources)
            .AddOtlpExporter()
            .Build();
        _metrics = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(Meters)
            .AddOtlpExporter()
            .Build();
        logger.LogInformation("Exporting traces and metrics over OTLP to {Endpoint}.", Environment.GetEnvironmentVariable(EndpointVariable));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // Flush what is buffered while the exporter's endpoint is still there.
        _tracing?.ForceFlush(2000);
        _metrics?.ForceFlush(2000);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _tracing?.Dispose();
        _metrics?.Dispose();
        _tracing = null;
        _metrics = null;
    }
}
