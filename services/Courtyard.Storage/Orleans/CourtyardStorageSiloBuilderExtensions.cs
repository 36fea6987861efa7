using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Courtyard.Storage;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Orleans.Hosting;

/// <summary>
/// Registers our storage in an Orleans silo, the way Orleans' own ADO.NET and Redis providers register:
/// <code>
/// silo.AddCourtyardGrainStorage("councils", sp =&gt; …open the service's IStorageProvider…)  // [PersistentState("council", "councils")]
///     .AddCourtyardReminders()                                                          // IRemindable, durable
///     .AddCourtyardJournal();                                                           // JournaledGrain + [Journal("councils")]
/// </code>
/// The provider is a keyed singleton (<c>GetRequiredKeyedService&lt;IStorageProvider&gt;("councils")</c>): the grain
/// storage, the reminder table, the journals and the event relay of that service all share it, and the host disposes it.
/// </summary>
public static class CourtyardStorageSiloBuilderExtensions
{
    /// <summary>The log-consistency provider name JournaledGrains use: <c>[LogConsistencyProvider(ProviderName = "CustomStorage")]</c>.</summary>
    public const string JournalProviderName = "CustomStorage";

    /// <inheritdoc cref="AddCourtyardGrainStorage(IServiceCollection, string, Func{IServiceProvider, IStorageProvider}, Action{CourtyardGrainStorageOptions}?)"/>
    public static ISiloBuilder AddCourtyardGrainStorage(this ISiloBuilder builder, string name, Func<IServiceProvider, IStorageProvider> storage,
        Action<CourtyardGrainStorageOptions>? configure = null) =>
        builder.ConfigureServices(services => services.AddCourtyardGrainStorage(name, storage, configure));

    /// <summary>
    /// The service storage <paramref name="name"/> (its own database), opened by <paramref name="storage"/> on first use,
    /// as a keyed <see cref="IStorageProvider"/> and as the Orleans grain storage of that name.
    /// </summary>
    public static IServiceCollection AddCourtyardGrainStorage(this IServiceCollection services, string name, Func<IServiceProvider, IStorageProvider> storage,
        Action<CourtyardGrainStorageOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(storage);
        services.AddKeyedSingleton<IStorageProvider>(name, (sp, _) => storage(sp));
        services.AddSingleton(new CourtyardStorageRegistration(name));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILifecycleParticipant<ISiloLifecycle>, CourtyardStorageStartup>());
        var options = services.AddOptions<CourtyardGrainStorageOptions>(name);
        if (configure is not null) options.Configure(configure);
        options.PostConfigure<Serializer>((o, serializer) => o.GrainStorageSerializer ??= new OrleansGrainStorageSerializer(serializer));
        return services.AddGrainStorage(name, CreateGrainStorage);
    }

    /// <summary>
    /// Orleans reminders (<c>AddReminders</c>) kept durably in the registered service storages: each grain's reminders
    /// in the database of the service its grain type belongs to (see <see cref="CourtyardReminderTable"/>).
    /// </summary>
    public static ISiloBuilder AddCourtyardReminders(this ISiloBuilder builder) =>
        builder.ConfigureServices(services => services.AddCourtyardReminders());

    /// <inheritdoc cref="AddCourtyardReminders(ISiloBuilder)"/>
    public static IServiceCollection AddCourtyardReminders(this IServiceCollection services)
    {
        services.AddReminders();
        services.AddSingleton<IReminderTable, CourtyardReminderTable>();
        return services;
    }

    /// <summary>
    /// Orleans' CustomStorage log-consistency provider under the name <see cref="JournalProviderName"/>, and
    /// <see cref="JournalAttribute"/> so a JournaledGrain gets its <see cref="IJournal{TState,TEvent}"/> on a registered storage.
    /// </summary>
    public static ISiloBuilder AddCourtyardJournal(this ISiloBuilder builder, Action<CourtyardJournalOptions>? configure = null)
    {
        builder.AddCustomStorageBasedLogConsistencyProvider(JournalProviderName);
        return builder.ConfigureServices(services =>
        {
            var options = services.AddOptions<CourtyardJournalOptions>();
            if (configure is not null) options.Configure(configure);
            services.TryAddSingleton(typeof(IAttributeToFactoryMapper<JournalAttribute>), typeof(JournalAttributeMapper));
        });
    }

    private static CourtyardGrainStorage CreateGrainStorage(IServiceProvider services, string name) => new(
        name,
        services.GetRequiredKeyedService<IStorageProvider>(name),
        services.GetRequiredService<IOptionsMonitor<CourtyardGrainStorageOptions>>().Get(name),
        services.GetRequiredService<IActivatorProvider>(),
        services.GetRequiredService<IGrainContextAccessor>(),
        services.GetRequiredService<ILogger<CourtyardGrainStorage>>());
}
