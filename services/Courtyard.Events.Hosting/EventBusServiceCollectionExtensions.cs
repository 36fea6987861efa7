using Courtyard.Events.Dapr;
using Courtyard.Events.Transports;
using Courtyard.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Hosting;

public static class EventBusServiceCollectionExtensions
{
    /// <summary>Where the event settings live (environment form <c>Courtyard__Events__Transport</c>, …).</summary>
    public const string ConfigurationSection = "Courtyard:Events";

    /// <summary>The values <c>Courtyard:Events:Transport</c> accepts; the first is the default.</summary>
    public static readonly IReadOnlyList<string> TransportNames = ["inproc", "rabbitmq", "dapr"];

    /// <summary>
    /// One service's event bus, hosted: <paramref name="declare"/> declares its handlers. Its storage is the
    /// <see cref="IStorageProvider"/> registered as a keyed service under the service's name (convention: one name per
    /// service = its storage = its event source), unless <paramref name="storage"/> picks another. Several services in
    /// one process each call this with their own name and storage; they share the process's transport. A hosted service
    /// subscribes the consumers at start and starts the relay and the retention purge once the host has started (so
    /// every in-process consumer is subscribed before the first publish).
    /// </summary>
    public static IServiceCollection AddEventBus(this IServiceCollection services, string source, Action<EventBus> declare,
        Action<EventBusOptions>? configure = null, Func<IServiceProvider, IStorageProvider>? storage = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        ArgumentNullException.ThrowIfNull(declare);
        services.AddEventTransport();
        if (services.Any(d => d.ServiceType == typeof(HostedEventBus) && ((HostedEventBus)d.ImplementationInstance!).Source == source))
        {
            throw new InvalidOperationException($"An event bus for \"{source}\" is already added.");
        }
        services.AddSingleton(new HostedEventBus(source));
        services.AddKeyedSingleton(source, (sp, _) =>
        {
            var options = new EventBusOptions { Source = source };
            var section = sp.GetService<IConfiguration>()?.GetSection(ConfigurationSection);
            if (int.TryParse(section?["MaxDeliveryAttempts"], out var maxDeliveries))
            {
                options.MaxDeliveryAttempts = maxDeliveries;
            }
            if (int.TryParse(section?["MaxPublishAttempts"], out var maxPublishes))
            {
                options.MaxPublishAttempts = maxPublishes;
            }
            configure?.Invoke(options);
            var bus = new EventBus(options, storage?.Invoke(sp) ?? sp.GetRequiredKeyedService<IStorageProvider>(source),
                sp.GetRequiredService<IEventTransport>(), sp.GetRequiredService<ILoggerFactory>(), sp);
            declare(bus);
            return bus;
        });
        services.AddSingleton<IHostedService>(sp => new EventBusHostedService(sp.GetRequiredKeyedService<EventBus>(source), sp.GetRequiredService<IHostApplicationLifetime>()));
        return services;
    }

    /// <summary>
    /// The process-wide parts (each added once): the <see cref="EventBusRegistry"/>, the EventAdmin service, and the
    /// transport <c>Courtyard:Events:Transport</c> names: <c>inproc</c> (default), <c>rabbitmq</c>
    /// (<c>RabbitMq:Url</c>, <c>RabbitMq:Exchange</c>) or <c>dapr</c> (<c>Dapr:PubSubName</c>; the DaprClient from
    /// <c>AddDaprClient</c>, reading DAPR_GRPC_ENDPOINT / DAPR_API_TOKEN; the app token check on Dapr's calls).
    /// </summary>
    public static IServiceCollection AddEventTransport(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(EventBusRegistry)))
        {
            return services;
        }
        services.AddSingleton(sp => new EventBusRegistry(sp, sp.GetServices<HostedEventBus>()));
        services.AddSingleton<EventAdminService>();
        services.AddSingleton<IEventTransport>(sp => CreateTransport(sp.GetService<IConfiguration>(), sp));
        // Readiness: a host whose broker is unreachable cannot deliver its events ("ready" is ServiceDefaults' readiness tag).
        services.AddHealthChecks().AddCheck<BrokerHealthCheck>("broker", tags: [BrokerHealthCheck.ReadinessTag]);
        services.AddGrpc();
        services.AddDaprClient();
        // Dapr calls the app with its app token in dapr-api-token; the "Dapr" policy on the event routes checks it.
        services.AddAuthentication().AddDapr();
        services.AddOptions<global::Dapr.AspNetCore.DaprAuthenticationOptions>("Dapr")
            .Configure<IConfiguration>((o, configuration) => o.Token = AppApiToken(configuration) ?? o.Token);
        services.AddAuthorization(o => o.AddDapr());
        return services;
    }

    /// <summary>
    /// The token Dapr presents when it calls the app: <c>Courtyard:Events:Dapr:AppApiToken</c>, else APP_API_TOKEN (Dapr's
    /// own variable). Null: Dapr is not configured with one, and the event routes do not ask for it.
    /// </summary>
    public static string? AppApiToken(IConfiguration? configuration) =>
        configuration?.GetSection(ConfigurationSection)["Dapr:AppApiToken"] is { Length: > 0 } token
            ? token
            : Environment.GetEnvironmentVariable("APP_API_TOKEN") is { Length: > 0 } fromDapr ? fromDapr : null;

    /// <summary>
    /// The transport <c>Courtyard:Events:Transport</c> names, normalized to one of <see cref="TransportNames"/>
    /// ("in-process" is accepted for inproc); unset means inproc. Throws <see cref="InvalidOperationException"/> for anything else.
    /// </summary>
    public static string ReadTransportName(IConfiguration? configuration)
    {
        var configured = configuration?.GetSection(ConfigurationSection)["Transport"];
        if (string.IsNullOrWhiteSpace(configured))
        {
            return TransportNames[0];
        }
        var name = configured.Trim().ToLowerInvariant();
        if (name == "in-process")
        {
            return "inproc";
        }
        return TransportNames.Contains(name)
            ? name
            : throw new InvalidOperationException(
                $"{ConfigurationSection}:Transport \"{configured}\" is not one of {string.Join(", ", TransportNames)}.");
    }

    private static IEventTransport CreateTransport(IConfiguration? configuration, IServiceProvider services)
    {
        var section = configuration?.GetSection(ConfigurationSection);
        var loggers = services.GetRequiredService<ILoggerFactory>();
        switch (ReadTransportName(configuration))
        {
            case "rabbitmq":
                var rabbit = new RabbitMqTransportOptions();
                if (section?["RabbitMq:Url"] is { Length: > 0 } url)
                {
                    rabbit.Url = url;
                }
                if (section?["RabbitMq:Exchange"] is { Length: > 0 } exchange)
                {
                    rabbit.Exchange = exchange;
                }
                return new RabbitMqTransport(rabbit, loggers.CreateLogger<RabbitMqTransport>());
            case "dapr":
                var dapr = new DaprTransportOptions();
                if (section?["Dapr:PubSubName"] is { Length: > 0 } pubsub)
                {
                    dapr.PubSubName = pubsub;
                }
                return new DaprTransport(services.GetRequiredService<global::Dapr.Client.DaprClient>(), dapr, loggers.CreateLogger<DaprTransport>());
            default:
                return new InProcessTransport();
        }
    }
}

/// <summary>Runs one event bus inside the generic host: its consumers, its outbox relay (while it holds the relay lease) and its retention purge.</summary>
public sealed class EventBusHostedService(EventBus bus, IHostApplicationLifetime lifetime) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await bus.StartConsumersAsync(cancellationToken);
        lifetime.ApplicationStarted.Register(() =>
        {
            bus.StartRelay();
            bus.StartRetention();
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => bus.StopAsync(cancellationToken);
}
