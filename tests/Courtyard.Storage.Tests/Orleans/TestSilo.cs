using System.Net;
using System.Net.Sockets;
using Courtyard.Storage.Tests.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Courtyard.Storage.Tests;

/// <summary>
/// A real Orleans silo in this process (Host.UseOrleans, localhost clustering on free ports) whose grain storage,
/// reminders and journals are our storage. Starting a second one on the same databases after stopping the first is a
/// restart; the storages are opened by the silo and closed with it.
/// </summary>
public sealed class TestSilo : IAsyncDisposable
{
    private readonly IHost host;

    private TestSilo(IHost host) => this.host = host;

    public IGrainFactory Grains => host.Services.GetRequiredService<IGrainFactory>();

    public IServiceProvider Services => host.Services;

    public ReminderTicks Ticks => host.Services.GetRequiredService<ReminderTicks>();

    /// <summary>Starts a silo with the storages <paramref name="storages"/> (name → opener), reminders and journals.</summary>
    public static async Task<TestSilo> StartAsync(IReadOnlyDictionary<string, Func<IStorageProvider>> storages, Action<ISiloBuilder>? configure = null,
        bool reminders = true)
    {
        var builder = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(services => services.AddSingleton<ReminderTicks>())
            .UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(FreePort(), FreePort(), serviceId: "courtyard-storage-tests", clusterId: "test-" + Guid.NewGuid().ToString("N")[..8]);
                foreach (var (name, open) in storages) silo.AddCourtyardGrainStorage(name, _ => open());
                if (reminders) silo.AddCourtyardReminders();
                silo.AddCourtyardJournal(journal => journal.SnapshotInterval = 5);
                silo.Configure<ReminderOptions>(reminders =>
                {
                    reminders.MinimumReminderPeriod = TimeSpan.FromSeconds(1);
                    reminders.RefreshReminderListPeriod = TimeSpan.FromSeconds(1);
                });
                configure?.Invoke(silo);
            });
        var host = builder.Build();
        await host.StartAsync();
        return new TestSilo(host);
    }

    public static Task<TestSilo> StartAsync(Func<IStorageProvider> storage, Action<ISiloBuilder>? configure = null, bool reminders = true) =>
        StartAsync(new Dictionary<string, Func<IStorageProvider>> { [TestStorage.Name] = storage }, configure, reminders);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(timeout.Token);
        // The storages are IAsyncDisposable singletons: only an asynchronous dispose of the container closes them.
        await ((IAsyncDisposable)host).DisposeAsync();
    }
}
