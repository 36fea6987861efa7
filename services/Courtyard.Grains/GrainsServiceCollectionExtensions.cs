using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Courtyard.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the grain runtime (<see cref="IGrainFactory"/>, <see cref="GrainRuntime"/>, idle collection and the reminder
    /// poller as a hosted service) and the grains declared in <paramref name="configure"/>. May be called more than once.
    /// </summary>
    public static IServiceCollection AddGrains(this IServiceCollection services, Action<GrainsBuilder> configure)
    {
        var registry = services.FirstOrDefault(d => d.ServiceType == typeof(GrainRegistry))?.ImplementationInstance as GrainRegistry;
        if (registry is null)
        {
            registry = new GrainRegistry();
            services.AddSingleton(registry);
        }
        configure(new GrainsBuilder(services, registry));
        services.AddOptions<GrainsOptions>();
        services.TryAddSingleton<IGrainStateSerializer, JsonGrainStateSerializer>();
        services.TryAddSingleton(sp => new GrainRuntime(sp, sp.GetRequiredService<IOptions<GrainsOptions>>(), registry,
            sp.GetRequiredService<IGrainStateSerializer>(), sp.GetServices<IOutboxCommitListener>()));
        services.TryAddSingleton<IGrainFactory>(sp => sp.GetRequiredService<GrainRuntime>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, GrainsHostedService>());
        return services;
    }
}

/// <summary>Declares grains explicitly (no assembly scanning) and configures the runtime.</summary>
public sealed class GrainsBuilder
{
    private readonly GrainRegistry registry;

    internal GrainsBuilder(IServiceCollection services, GrainRegistry registry)
    {
        Services = services;
        this.registry = registry;
    }

    public IServiceCollection Services { get; }

    /// <summary>
    /// Registers grain class <typeparamref name="TGrain"/> for <typeparamref name="TGrainInterface"/>. The grain type name
    /// (stored in reminder rows; also the default state name) defaults to the class name; pin it when renaming classes.
    /// </summary>
    public GrainsBuilder Add<TGrainInterface, TGrain>(string? grainTypeName = null)
        where TGrainInterface : IGrain
        where TGrain : Grain, TGrainInterface
    {
        if (!typeof(TGrainInterface).IsInterface)
            throw new ArgumentException($"{typeof(TGrainInterface).Name} must be an interface.");
        registry.Registrations.Add((typeof(TGrainInterface), typeof(TGrain), grainTypeName));
        return this;
    }

    public GrainsBuilder Configure(Action<GrainsOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    /// <summary>Replaces the state serializer (default: <see cref="JsonGrainStateSerializer"/>).</summary>
    public GrainsBuilder UseSerializer<TSerializer>() where TSerializer : class, IGrainStateSerializer
    {
        Services.Replace(ServiceDescriptor.Singleton<IGrainStateSerializer, TSerializer>());
        return this;
    }
}
