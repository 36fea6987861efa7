using Courtyard.Councils;
using Courtyard.Directory;
using Courtyard.Portal;
using Courtyard.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Platform.Host.Demo;

namespace Platform.Host;

/// <summary>
/// Builds the all-in-one host: ServiceDefaults, one Orleans silo on localhost clustering, then every service's own
/// Add…/Map… extension, each with its own SQLite file in the data folder (<c>AddServiceStorage("councils")</c> inside
/// <c>AddCouncils</c>) and its own event bus on the in-process transport. Directory and Councils today; Rules,
/// Volunteers, Projects and the portal add one line each here as they arrive.
/// </summary>
public static class PlatformHost
{
    /// <summary>The host's name: its telemetry service name and its Orleans ServiceId.</summary>
    public const string ServiceName = "platform";

    public static WebApplication Build(HostSettings settings, Action<WebApplicationBuilder>? configure = null, Action<WebApplication>? map = null)
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
        });
        AddPortalLinks(builder, settings);
        builder.AddServiceDefaults(ServiceName);
        if (settings.Demo)
        {
            PlatformDemo.Configure(builder, Path.GetFullPath(settings.DataDir));
        }
        // One silo for every service's grains, localhost clustering unless Courtyard__Orleans__* says otherwise.
        builder.AddServiceSilo();
        // The host prints its own addresses at startup; the framework's lines would repeat them.
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Logging.AddFilter("Courtyard.ServiceDefaults.ServiceStorageStartup", LogLevel.Warning);
        // Relay leases and subscriptions, the first admin: routine in one process, where every bus is in-process.
        builder.Logging.AddFilter("Courtyard.Events", LogLevel.Warning);
        builder.Logging.AddFilter("Courtyard.Directory.DirectoryBootstrap", LogLevel.Warning);
        // Orleans 10.4's watchdog reads its component timestamp before setting it and warns of a stall as long as the
        // machine's uptime at every start; a real stall on a desktop host is seen anyway (calls slow down).
        builder.Logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        // "Silo not running with ServerGC": the embedded host runs on small machines with workstation GC on purpose.
        builder.Logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);

        // Services, each with its own storage and event bus (in-process unless Courtyard__Events__Transport says otherwise).
        builder.AddDirectory();
        builder.AddCouncils();
        // The portal on the HTTP/1.1 port: a client of the services above, like any other.
        builder.AddPortal();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapDirectory();
        app.MapCouncils();
        map?.Invoke(app);
        app.MapStatusPage();
        app.MapPortal();
        return app;
    }

    /// <summary>
    /// The portal runs on the HTTP port, so invitation slips (Directory) and printed notices (Councils) link to it there,
    /// unless configuration names another public address. Port 0 (tests) leaves them to the caller.
    /// </summary>
    private static void AddPortalLinks(WebApplicationBuilder builder, HostSettings settings)
    {
        if (settings.HttpPort == 0)
        {
            return;
        }
        string address = builder.Configuration[$"{ServiceOptions.Section}:ListenAddress"] is { Length: > 0 } listen && listen != "0.0.0.0" ? listen : "127.0.0.1";
        string portal = $"http://{address}:{settings.HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        var links = new Dictionary<string, string?>();
        if (string.IsNullOrEmpty(builder.Configuration["Directory:Invitations:RedeemUrl"]))
        {
            links["Directory:Invitations:RedeemUrl"] = portal + "/join?code={code}";
        }
        if (string.IsNullOrEmpty(builder.Configuration["Courtyard:Councils:PublicNoticeBaseUrl"]))
        {
            links["Courtyard:Councils:PublicNoticeBaseUrl"] = portal + "/notices";
        }
        builder.Configuration.AddInMemoryCollection(links);
    }

    /// <summary>The lines printed at startup: where to connect, where the data is, what the silo is.</summary>
    public static string DescribeAddresses(WebApplication app)
    {
        var endpoints = app.Services.GetRequiredService<ServiceEndpoints>();
        var options = app.Services.GetRequiredService<ServiceOptions>();
        var silo = app.Services.GetRequiredService<SiloSettings>();
        var storages = app.Services.GetServices<StorageSettings>().Select(s => $"storage {s.Name}: {s.Description}").ToList();
        return string.Join(Environment.NewLine, [
            "院落自治平台 Courtyard Platform — 一体化主机 embedded host",
            $"gRPC (h2c): {endpoints.GrpcAddress.ToString().TrimEnd('/')}",
            $"HTTP: {endpoints.HttpAddress.ToString().TrimEnd('/')}",
            $"data: {options.DataDir}",
            .. storages,
            $"cluster: {silo.Description}, silo {app.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.Endpoint}"]);
    }
}
