using Courtyard.ServiceDefaults;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.Host.Tests;

/// <summary>The embedded host started in this process on free ports (127.0.0.1, port 0) with a fresh data folder.</summary>
public sealed class RunningHost : IAsyncDisposable
{
    private RunningHost(WebApplication app, string dataDir)
    {
        App = app;
        DataDir = dataDir;
        var endpoints = app.Services.GetRequiredService<ServiceEndpoints>();
        GrpcAddress = endpoints.GrpcAddress;
        HttpAddress = endpoints.HttpAddress;
        Channel = GrpcChannel.ForAddress(GrpcAddress);
    }

    public WebApplication App { get; }
    public string DataDir { get; }
    public Uri GrpcAddress { get; }
    public Uri HttpAddress { get; }
    public GrpcChannel Channel { get; }

    /// <summary>The host with the test service "hosttests" (<see cref="ProbeServiceExtensions"/>) registered like a real one.</summary>
    public static Task<RunningHost> StartWithProbeAsync(Action<WebApplicationBuilder>? configure = null) =>
        StartAsync(builder =>
        {
            configure?.Invoke(builder);
            builder.AddProbe();
        }, map: app => app.MapProbe());

    public static async Task<RunningHost> StartAsync(Action<WebApplicationBuilder>? configure = null, string? dataDir = null, Action<WebApplication>? map = null,
        bool demo = false)
    {
        dataDir ??= NewDataDir();
        WebApplication? app = null;
        try
        {
            app = PlatformHost.Build(new HostSettings(GrpcPort: 0, HttpPort: 0, DataDir: dataDir, Demo: demo), configure, map);
            await app.StartAsync();
            return new RunningHost(app, dataDir);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
            TryDelete(Path.GetDirectoryName(dataDir)!);
            throw;
        }
    }

    public static string NewDataDir() =>
        Path.Combine(Path.GetTempPath(), "courtyard-host-tests", Guid.NewGuid().ToString("N"), "data");

    public async ValueTask DisposeAsync()
    {
        if (await StopAsync())
        {
            TryDelete(Path.GetDirectoryName(DataDir)!);
        }
    }

    /// <summary>Stops the host and leaves its data folder, for a restart on it (disposing it later deletes nothing).</summary>
    public async ValueTask StopKeepingDataAsync() => await StopAsync();

    private async Task<bool> StopAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 1)
        {
            return false;
        }
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        return true;
    }

    private int stopped;

    public static void TryDelete(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
