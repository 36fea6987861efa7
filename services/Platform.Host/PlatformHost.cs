using Courtyard.Events.Transports;
using Courtyard.Grpc;
using Courtyard.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Platform.Host;

/// <summary>
/// Builds the all-in-one host: service defaults (storage, grains, events), then every service's own Add…/Map… extension.
/// Today that is grpc.health.v1, server reflection and courtyard.events.v1.EventAdmin over one SQLite file in the data
/// folder and the in-process event bus; Councils, Rules, Volunteers, Projects, Directory and the portal add one line
/// each here as they arrive.
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
        // SQLite file <data dir>/courtyard-platform.db, grain runtime, in-process events, EventAdmin — unless
        // Courtyard__Storage__* / Courtyard__Events__* in the environment say otherwise.
        builder.AddStatefulServiceDefaults();
        // The host prints its own addresses at startup; the framework's lines would repeat them.
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Logging.AddFilter("Courtyard.ServiceDefaults.StorageStartup", LogLevel.Warning);
        // Service registrations go here (builder.AddDirectory(); builder.AddCouncils(); …).
        configure?.Invoke(builder);

        var app = builder.Build();
        try
        {
            app.MapServiceDefaults();   // opens the database: a ServiceStartupException here is a message for the user
        }
        catch
        {
            // What was already opened (the database, when the event settings are the wrong ones) is closed again.
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
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
            $"data: {options.DataDir}",
            $"storage: {app.Services.GetRequiredService<StorageSettings>().Description}",
            $"events: {app.Services.GetRequiredService<IEventTransport>().Name}");
    }

    internal static IReadOnlyList<string> HostedGrpcServices(IServiceProvider services) =>
        services.GetRequiredService<HealthStatusService>().GetAll().Keys
            .Where(name => name.Length > 0)
            .Order(StringComparer.Ordinal)
            .ToList();
}
