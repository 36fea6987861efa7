using Courtyard.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Courtyard.Portal.Tests.Support;

/// <summary>The portal alone, as its Program.cs runs it (a replica calling Directory and Councils elsewhere), on free ports.</summary>
public sealed class StandalonePortal : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly string dataDir;

    private StandalonePortal(WebApplication app, string dataDir)
    {
        this.app = app;
        this.dataDir = dataDir;
        HttpAddress = app.Services.GetRequiredService<ServiceEndpoints>().HttpAddress;
    }

    public Uri HttpAddress { get; }

    public static async Task<StandalonePortal> StartAsync(IDictionary<string, string?> settings)
    {
        string dataDir = Path.Combine(Path.GetTempPath(), "courtyard-portal-tests", Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = "Courtyard.Portal",
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Courtyard:GrpcPort"] = "0",
            ["Courtyard:HttpPort"] = "0",
            ["Courtyard:DataDir"] = dataDir,
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDefaults("portal");
        builder.AddPortal();
        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapPortal();
        await app.StartAsync();
        return new StandalonePortal(app, dataDir);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(dataDir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
