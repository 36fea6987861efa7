using Courtyard.Grains.Tests.Grains;
using Courtyard.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Courtyard.Grains.Tests.Support;

/// <summary>A started host with the grain runtime and every test grain, over the given storage.</summary>
public sealed class TestSilo : IAsyncDisposable
{
    private readonly IHost host;

    private TestSilo(IHost host)
    {
        this.host = host;
        Runtime = host.Services.GetRequiredService<GrainRuntime>();
        Probe = host.Services.GetRequiredService<Probe>();
    }

    public GrainRuntime Runtime { get; }
    public IGrainFactory Grains => Runtime;
    public Probe Probe { get; }

    public static Task<TestSilo> StartAsync(InMemoryStorage storage, Action<GrainsOptions>? configure = null)
        => StartAsync(services => services.AddSingleton<IStateStore>(storage).AddSingleton<IReminderStore>(storage), configure);

    public static Task<TestSilo> StartAsync(IStorageProvider provider, Action<GrainsOptions>? configure = null)
        => StartAsync(services => services.AddSingleton(provider), configure);

    public static async Task<TestSilo> StartAsync(Action<IServiceCollection> addStorage, Action<GrainsOptions>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        addStorage(builder.Services);
        builder.Services.AddSingleton<Probe>();
        builder.Services.AddGrains(g =>
        {
            g.Add<ICounterGrain, CounterGrain>()
             .Add<IReadWriteGrain, ReadWriteGrain>()
             .Add<IOrderGrain, OrderGrain>()
             .Add<ILifecycleGrain, LifecycleGrain>()
             .Add<IGuidGrain, GuidGrain>()
             .Add<IFaultGrain, FaultGrain>()
             .Add<IChainGrain, ChainGrain>()
             .Add<IReentrantGrain, ReentrantGrain>()
             .Add<ITimerGrain, TimerGrain>()
             .Add<IReminderGrain, ReminderGrain>()
             .Add<IWatchGrain, WatchGrain>()
             .Add<ICollectibleGrain, CollectibleGrain>()
             .Add<IOutboxGrain, OutboxGrain>()
             .Add<IProtoGrain, ProtoGrain>();
            g.Configure(o =>
            {
                o.ReminderPollInterval = TimeSpan.FromMilliseconds(100);
                o.CallTimeout = TimeSpan.FromSeconds(20);
                configure?.Invoke(o);
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        return new TestSilo(host);
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
    }
}
