namespace Courtyard.Events;

/// <summary>The event buses of the process (one per hosted service), for the admin RPCs and the relay wake-up.</summary>
public sealed class EventBusRegistry
{
    private readonly Lock gate = new();
    private EventBus[] buses = [];

    public IReadOnlyList<EventBus> Buses => buses;

    public void Add(EventBus bus)
    {
        lock (gate)
        {
            if (buses.Any(b => b.Source == bus.Source))
            {
                throw new InvalidOperationException($"An event bus for \"{bus.Source}\" is already registered.");
            }
            buses = [.. buses, bus];
        }
    }

    public EventBus? Find(string source) => buses.FirstOrDefault(b => b.Source == source);
}
