using Courtyard.Grpc;
using Courtyard.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Platform.Host;

/// <summary>
/// Builds the all-in-one host: service defaults, then every service's own Add…/Map… extension.
/// Today that is the transport's grpc.health.v1 and server reflection; Councils, Rules, Volunteers, Projects,
/// Directory and the portal add one line each here as they arrive.
/// </summary>
public static class PlatformHost
{
    public static WebApplication Build(HostSettings settings, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(PlatformHost).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{ServiceOptions.Section}:GrpcPort"] = settings.GrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [$"{ServiceOptions.Section}:HttpPort"] = settings.HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [$"{ServiceOptions.Section}:DataDir"] = Path.GetFullPath(settings.DataDir),
            [$"{ServiceOptions.Section}:ServiceName"] = "courtyard-platform",
        });
        builder.AddServiceDefaults();
        // The host prints its own addresses at startup; the framework's lines would repeat them.
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // Service registrations go here (builder.AddDirectory(); builder.AddCouncils(); …).
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapStatusPage();
        return app;
    }

    /// <summary>The lines printed at startup: where to connect and where the data is.</summary>
    public static string DescribeAddresses(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<ServiceEndpoints>();
        var options = app.Services.GetRequiredService<ServiceOptions>();
        return string.Join(Environment.NewLine,
            "院落自治平台 Courtyard Platform — 一体化主机 embedded host",
            $"gRPC (h2c): {endpoints.GrpcAddress.ToString().TrimEnd('/')}",
            $"HTTP: {endpoints.HttpAddress.ToString().TrimEnd('/')}",
            $"data: {options.DataDir}");
    }

    internal static IReadOnlyList<string> HostedGrpcServices(IServiceProvider services) =>
        services.GetRequiredService<HealthStatusService>().GetAll().Keys
            .Where(name => name.Length > 0)
            .Order(StringComparer.Ordinal)
            .ToList();
}
