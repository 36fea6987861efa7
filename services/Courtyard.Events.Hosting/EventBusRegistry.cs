using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Events.Hosting;

/// <summary>A service whose event bus this process hosts (one registration per AddEventBus call).</summary>
internal sealed record HostedEventBus(string Source);

/// <summary>The event buses of the process (one per hosted service), for EventAdmin and the Dapr routes.</summary>
public sealed class EventBusRegistry
{
    private readonly IReadOnlyList<EventBus> buses;

    internal EventBusRegistry(IServiceProvider services, IEnumerable<HostedEventBus> hosted)
        : this(hosted.Select(h => services.GetRequiredKeyedService<EventBus>(h.Source)))
    {
    }

    internal EventBusRegistry(IEnumerable<EventBus> buses) => this.buses = buses.ToArray();

    public IReadOnlyList<EventBus> Buses => buses;

    public EventBus? Find(string source) => buses.FirstOrDefault(b => b.Source == source);
}
