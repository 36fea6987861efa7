using Courtyard.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Host;

namespace Courtyard.Portal.Tests.Support;

/// <summary>
/// The embedded host (services/Platform.Host: every service and the portal) started in this process on free ports of
/// 127.0.0.1 with a fresh data folder, as `dotnet run --project services/Platform.Host` would run it.
/// </summary>
public sealed class PortalHost : IAsyncDisposable
{
    public const string AdminLogin = "admin";
    public const string AdminPassword = "admin-password-1";

    private readonly WebApplication app;
    private readonly string root;

    private PortalHost(WebApplication app, string root)
    {
        this.app = app;
        this.root = root;
        var endpoints = app.Services.GetRequiredService<ServiceEndpoints>();
        HttpAddress = endpoints.HttpAddress;
        GrpcAddress = endpoints.GrpcAddress;
    }

    /// <summary>Where the portal is: the host's HTTP/1.1 port.</summary>
    public Uri HttpAddress { get; }
    public Uri GrpcAddress { get; }
    public IServiceProvider Services => app.Services;

    /// <summary>demo-accounts.json as the demo wrote it (demo hosts only).</summary>
    public Platform.Host.Demo.DemoAccounts? DemoAccounts { get; private init; }

    public Platform.Host.Demo.DemoAccount DemoAccount(string role) => DemoAccounts!.Accounts.Single(a => a.Role == role);

    /// <summary>With <paramref name="demo"/>, as `--demo` runs it: seeded, its accounts in <see cref="DemoAccounts"/>.</summary>
    public static async Task<PortalHost> StartAsync(IDictionary<string, string?>? settings = null, bool demo = false)
    {
        string root = Path.Combine(Path.GetTempPath(), "courtyard-portal-tests", Guid.NewGuid().ToString("N"));
        var app = PlatformHost.Build(new HostSettings(GrpcPort: 0, HttpPort: FreePort(), DataDir: Path.Combine(root, "data"), Demo: demo), builder =>
        {
            if (!demo)
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Directory:Bootstrap:AdminLogin"] = AdminLogin,
                    ["Directory:Bootstrap:AdminPassword"] = AdminPassword,
                });
            }
            if (settings is not null)
            {
                builder.Configuration.AddInMemoryCollection(settings);
            }
        });
        try
        {
            await app.StartAsync();
            if (demo)
            {
                string path = await Platform.Host.Demo.PlatformDemo.SeedAsync(app);
                return new PortalHost(app, root) { DemoAccounts = Platform.Host.Demo.DemoAccounts.Read(Path.GetDirectoryName(path)!) };
            }
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new PortalHost(app, root);
    }

    /// <summary>A known HTTP port, so the links the services print (invitation slips, notices) point at this portal.</summary>
    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
