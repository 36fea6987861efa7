using Courtyard.Storage;
using Courtyard.Storage.Postgres;
using Courtyard.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// The one place a service declares its storage: <c>builder.AddServiceStorage("councils")</c>. The service's grains then
/// keep their state with <c>[PersistentState("council", "councils")]</c> in the service's own database — a SQLite file
/// <c>&lt;DataDir&gt;/councils.db</c>, or the PostgreSQL database of <c>ConnectionStrings:councils</c> — even when several
/// services share one process (the embedded host).
/// </summary>
public static class ServiceStorageExtensions
{
    /// <summary>Opening a database (connect, create or migrate the schema) must finish within this, or startup fails.</summary>
    public static readonly TimeSpan OpenTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Hosts the Orleans silo (<see cref="ServiceSiloExtensions.AddServiceSilo"/>) and declares the storage named
    /// <paramref name="name"/>: its database is opened as the host starts, before the silo (a database that cannot be
    /// opened stops startup with a <see cref="ServiceStartupException"/> naming the setting to fix), it is Orleans grain
    /// storage of that name, it counts for readiness ("storage:&lt;name&gt;"), and it is closed with the host. Resolve the
    /// open database with <c>GetRequiredKeyedService&lt;IStorageProvider&gt;(name)</c>.
    /// </summary>
    public static IHostApplicationBuilder AddServiceStorage(this IHostApplicationBuilder builder, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddServiceSilo();
        if (builder.Services.Select(d => d.ImplementationInstance).OfType<StorageSettings>().Any(declared => declared.Name == name))
        {
            return builder;
        }
        bool firstStorage = !builder.Services.Select(d => d.ImplementationInstance).OfType<StorageSettings>().Any();
        var service = builder.Services.Select(d => d.ImplementationInstance).OfType<ServiceOptions>().First();
        var settings = StorageSettings.From(builder.Configuration, name, service.DataDir);
        builder.Services.AddSingleton(settings);
        // Courtyard.Storage's Orleans plug-ins: the keyed provider, and Orleans grain storage of the same name over it.
        builder.Services.AddCourtyardGrainStorage(name, _ => Open(settings));
        builder.Services.TryAddEnumerableHostedService<ServiceStorageStartup>();
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            $"storage:{name}", services => new StorageHealthCheck(services.GetRequiredKeyedService<IStorageProvider>(name)),
            failureStatus: null, tags: [ServiceHealthChecks.ReadyTag]));
        if (firstStorage)
        {
            builder.UseOrleans(AddSiloWideStorage);
        }
        return builder;
    }

    /// <summary>
    /// What a silo gets once, with its first storage: durable reminders kept in the service storages (each grain in its
    /// own service's database) and the CustomStorage log-consistency provider for JournaledGrains on our journal. A
    /// silo without any storage (a host serving no stateful service yet) has neither.
    /// </summary>
    private static void AddSiloWideStorage(ISiloBuilder silo)
    {
        silo.AddCourtyardReminders();
        silo.AddCourtyardJournal();
    }

    private static IStorageProvider Open(StorageSettings settings)
    {
        using var timeout = new CancellationTokenSource(OpenTimeout);
        try
        {
            // DI factories are synchronous; this runs once per storage, as the host starts.
            return Task.Run<IStorageProvider>(async () => settings.Provider switch
            {
                StorageProviderKind.Sqlite => await SqliteStorageProvider.OpenAsync(settings.Target, cancellationToken: timeout.Token),
                _ => await PostgresStorageProvider.OpenAsync(settings.Target, cancellationToken: timeout.Token),
            }).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            string reason = timeout.IsCancellationRequested
                ? $"no answer within {OpenTimeout.TotalSeconds:0} s."
                : e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal)
                    ? $"{e.Message} ({inner.Message})"
                    : e.Message;
            throw new ServiceStartupException(
                $"无法打开数据库 {settings.Description}：{reason}\n" +
                $"Cannot open the database {settings.Description}: {reason} Check {settings.Setting}.", e);
        }
    }

    private static void TryAddEnumerableHostedService<T>(this IServiceCollection services)
        where T : class, IHostedService =>
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddEnumerable(
            services, ServiceDescriptor.Singleton<IHostedService, T>());
}

/// <summary>
/// Opens every declared storage in <see cref="IHostedLifecycleService.StartingAsync"/>, which runs before any hosted
/// service starts — the silo included, so no grain activates before its database is there — and says which it is.
/// </summary>
internal sealed class ServiceStorageStartup(IServiceProvider services, ILogger<ServiceStorageStartup> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        foreach (var settings in services.GetServices<StorageSettings>())
        {
            var storage = services.GetRequiredKeyedService<IStorageProvider>(settings.Name);
            logger.LogInformation("Storage {Name}: {Storage} ({Type}).", settings.Name, settings.Description, storage.GetType().Name);
        }
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Ready while the database answers a read.</summary>
internal sealed class StorageHealthCheck(IStorageProvider storage) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await storage.State.ReadAsync("courtyard.health", "probe", cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, e.Message);
        }
    }
}
