using Courtyard.Events.Admin;
using Courtyard.Events.Dapr;
using Courtyard.Events.Transports;
using Courtyard.Grains;
using Courtyard.Grpc;
using Courtyard.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events;

public static class EventsServiceCollectionExtensions
{
    /// <summary>
    /// Where every Courtyard service reads its event settings (environment form: <c>Courtyard__Events__Transport</c>, …),
    /// next to the rest of the platform's "Courtyard" section.
    /// </summary>
    public const string ConfigurationSection = "Courtyard:Events";

    /// <summary>The values <c>Courtyard:Events:Transport</c> accepts; the first is the default.</summary>
    public static readonly IReadOnlyList<string> TransportNames = ["inproc", "rabbitmq", "dapr"];

    /// <summary>
    /// The process-wide parts: the <see cref="EventCatalog"/>, the <see cref="EventBusRegistry"/>, the transport chosen by
    /// configuration section "Courtyard:Events" (<c>Transport</c> = inproc (default) | rabbitmq | dapr; <c>RabbitMq:Url</c>,
    /// <c>RabbitMq:Exchange</c>; <c>Dapr:PubSubName</c>), and the grain-commit listener that wakes relays.
    /// </summary>
    public static IServiceCollection AddCourtyardEvents(this IServiceCollection services, IConfiguration? configuration = null)
    {
        services.TryAddSingleton<EventCatalog>();
        services.TryAddSingleton<EventBusRegistry>();
        services.TryAddSingleton<IEventTransport>(sp => CreateTransport(configuration ?? sp.GetService<IConfiguration>(), sp.GetRequiredService<ILoggerFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOutboxCommitListener, RelayWaker>());
        return services;
    }

    /// <summary>
    /// One service's event bus: <paramref name="declare"/> maps its events and handlers; storage defaults to the
    /// <see cref="IStorageProvider"/> in DI. A hosted service subscribes its consumers at start and starts its relay
    /// once the host has started (so every in-process consumer is subscribed before the first publish).
    /// </summary>
    public static IServiceCollection AddEventBus(this IServiceCollection services, string source, Action<EventBus> declare,
        Action<EventBusOptions>? configure = null, Func<IServiceProvider, IStorageProvider>? storage = null)
    {
        services.AddCourtyardEvents();
        services.AddKeyedSingleton(source, (sp, _) =>
        {
            var options = new EventBusOptions { Source = source };
            if (sp.GetService<IConfiguration>()?.GetSection(ConfigurationSection) is { } section && int.TryParse(section["MaxDeliveryAttempts"], out var max))
            {
                options.MaxDeliveryAttempts = max;
            }
            configure?.Invoke(options);
            var bus = new EventBus(options, storage?.Invoke(sp) ?? sp.GetRequiredService<IStorageProvider>(), sp.GetRequiredService<IEventTransport>(),
                sp.GetRequiredService<EventCatalog>(), sp.GetRequiredService<ILoggerFactory>(), sp);
            declare(bus);
            sp.GetRequiredService<EventBusRegistry>().Add(bus);
            return bus;
        });
        services.AddSingleton<IHostedService>(sp => new EventBusHostedService(sp.GetRequiredKeyedService<EventBus>(source), sp.GetRequiredService<IHostApplicationLifetime>()));
        return services;
    }

    /// <summary>Serves courtyard.events.v1.EventAdmin (dead letters: list, replay, delete).</summary>
    public static GrpcServerBuilder AddEventAdmin(this GrpcServerBuilder grpc)
    {
        grpc.Services.AddCourtyardEvents();
        grpc.Services.TryAddSingleton<EventAdminService>();
        return grpc.AddService<EventAdminService>(EventAdminService.Descriptor);
    }

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

    public static IEventTransport CreateTransport(IConfiguration? configuration, ILoggerFactory loggerFactory)
    {
        var section = configuration?.GetSection(ConfigurationSection);
        switch (ReadTransportName(configuration))
        {
            case "inproc":
                return new InProcessTransport();
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
                return new RabbitMqTransport(rabbit, loggerFactory.CreateLogger<RabbitMqTransport>());
            case "dapr":
                var dapr = new DaprTransportOptions();
                if (section?["Dapr:PubSubName"] is { Length: > 0 } pubsub)
                {
                    dapr.PubSubName = pubsub;
                }
                return new DaprTransport(dapr, logger: loggerFactory.CreateLogger<DaprTransport>());
            default:
                throw new InvalidOperationException("unreachable: ReadTransportName returned an unknown transport");
        }
    }

    /// <summary>Wakes every relay of the process when a grain commits outbox rows.</summary>
    private sealed class RelayWaker(EventBusRegistry registry) : IOutboxCommitListener
    {
        public void OnOutboxCommitted(IReadOnlyList<long> outboxIds)
        {
            foreach (var bus in registry.Buses)
            {
                bus.NotifyCommitted();
            }
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
