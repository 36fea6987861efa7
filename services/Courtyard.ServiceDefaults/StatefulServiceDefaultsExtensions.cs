using Courtyard.Events;
using Courtyard.Events.Transports;
using Courtyard.Grains;
using Courtyard.Grpc;
using Courtyard.Storage;
using Courtyard.Storage.Postgres;
using Courtyard.Storage.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// What a service that keeps state adds after <see cref="ServiceDefaultsExtensions.AddServiceDefaults"/>:
/// its database, the grain runtime and the event bus transport, all chosen by configuration.
/// <code>
/// builder.AddServiceDefaults();
/// builder.AddStatefulServiceDefaults();   // storage + grains + events + EventAdmin
/// builder.AddCouncils();                  // services.AddGrains(g => g.Add…), services.AddEventBus("councils", …)
/// </code>
/// </summary>
public static class StatefulServiceDefaultsExtensions
{
    /// <summary>Opening the database (connect, create or migrate the schema) must finish within this, or startup fails.</summary>
    public static readonly TimeSpan StorageOpenTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <see cref="AddCourtyardStorage"/>, the grain runtime (<c>AddGrains</c>; services add their grains with their own
    /// <c>services.AddGrains(g => g.Add&lt;…&gt;())</c>), the event transport from <c>Courtyard:Events:Transport</c>
    /// (inproc | rabbitmq | dapr) and the courtyard.events.v1.EventAdmin gRPC service (dead letters: list, replay, delete).
    /// <see cref="ServiceDefaultsExtensions.MapServiceDefaults"/> then maps the Dapr callbacks when the transport is dapr.
    /// </summary>
    public static WebApplicationBuilder AddStatefulServiceDefaults(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddCourtyardStorage();
        builder.Services.AddGrains(_ => { });

        // Registered before AddCourtyardEvents (which only adds a transport if none is there) so a bad setting reads clearly.
        builder.Services.TryAddSingleton<IEventTransport>(services => CreateEventTransport(services));
        builder.Services.AddCourtyardEvents();
        builder.Services.AddGrpcServer().AddEventAdmin();
        return builder;
    }

    /// <summary>
    /// The service's database as <see cref="IStorageProvider"/>, from <c>Courtyard:Storage:Provider</c>: <c>sqlite</c>
    /// (default; file <c>&lt;Courtyard:DataDir&gt;/&lt;service name&gt;.db</c>) or <c>postgres</c>
    /// (<c>Courtyard:Storage:ConnectionString</c>). Opened once, by <see cref="ServiceDefaultsExtensions.MapServiceDefaults"/>
    /// or else as the host starts — a database that cannot be opened throws <see cref="ServiceStartupException"/> — and
    /// disposed with the host.
    /// </summary>
    public static WebApplicationBuilder AddCourtyardStorage(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(services =>
            StorageSettings.From(services.GetRequiredService<IConfiguration>(), services.GetRequiredService<ServiceOptions>()));
        builder.Services.TryAddSingleton<IStorageProvider>(services => OpenStorage(services.GetRequiredService<StorageSettings>()));
        // Hosted services are resolved before any of them starts; this one comes first, so the database opens up front
        // even for a host that does not call MapServiceDefaults.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StorageStartup>());
        return builder;
    }

    private static IStorageProvider OpenStorage(StorageSettings settings)
    {
        using var timeout = new CancellationTokenSource(StorageOpenTimeout);
        try
        {
            // Runs on the thread pool: DI factories are synchronous, and this happens once, at startup.
            return Task.Run<IStorageProvider>(async () => settings.Provider switch
            {
                StorageProviderKind.Sqlite => await SqliteStorageProvider.OpenAsync(settings.Target, cancellationToken: timeout.Token),
                _ => await PostgresStorageProvider.OpenAsync(settings.Target, cancellationToken: timeout.Token),
            }).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not ServiceStartupException)
        {
            string reason = timeout.IsCancellationRequested
                ? $"no answer within {StorageOpenTimeout.TotalSeconds:0} s."
                : e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal)
                    ? $"{e.Message} ({inner.Message})"
                    : e.Message;
            string setting = settings.Provider == StorageProviderKind.Sqlite
                ? "Courtyard:DataDir (Courtyard__DataDir)"
                : "Courtyard:Storage:ConnectionString (Courtyard__Storage__ConnectionString)";
            throw new ServiceStartupException(
                $"无法打开数据库 {settings.Description}：{reason}\n" +
                $"Cannot open the database {settings.Description}: {reason} Check {setting}.", e);
        }
    }

    private static IEventTransport CreateEventTransport(IServiceProvider services)
    {
        try
        {
            return EventsServiceCollectionExtensions.CreateTransport(services.GetRequiredService<IConfiguration>(), services.GetRequiredService<ILoggerFactory>());
        }
        catch (Exception e)
        {
            throw new ServiceStartupException(
                $"配置有误：事件传输设置无效：{e.Message}\n" +
                $"Configuration error in {EventsServiceCollectionExtensions.ConfigurationSection} " +
                $"(environment Courtyard__Events__…): {e.Message}", e);
        }
    }
}

/// <summary>Makes sure the database is open when the host starts (by asking for it) and says which one it is.</summary>
internal sealed class StorageStartup(IStorageProvider storage, StorageSettings settings, ILogger<StorageStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Storage: {Storage} ({Type}).", settings.Description, storage.GetType().Name);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
