using Courtyard.Events.Testing;
using Courtyard.Events.Transports;

namespace Courtyard.Events.Tests.Support;

/// <summary>A producing service ("councils") and a consuming service ("rules"), each with its own SQLite database, on one transport.</summary>
public sealed class TwoServices : IAsyncDisposable
{
    private readonly TempDatabase producerDatabase = new("councils");
    private readonly TempDatabase consumerDatabase = new("rules");
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> versions = new();

    public required IEventTransport Transport { get; init; }
    /// <summary>The producing service's name (CloudEvents source); metrics tests pick one no other test uses.</summary>
    public string ProducerSource { get; private init; } = "councils";
    public EventBus Producer { get; private set; } = null!;
    public EventBus Consumer { get; private set; } = null!;

    public static async Task<TwoServices> StartAsync(Action<EventBus> declareConsumer, IEventTransport? transport = null,
        Action<EventBusOptions>? producerOptions = null, Action<EventBusOptions>? consumerOptions = null, string producerSource = "councils")
    {
        var services = new TwoServices { Transport = transport ?? new InProcessTransport(), ProducerSource = producerSource };
        var consumer = new EventBusOptions { Source = "rules", RelayEnabled = false };
        consumerOptions?.Invoke(consumer);
        services.Consumer = new EventBus(consumer, await services.consumerDatabase.OpenAsync(), services.Transport);
        declareConsumer(services.Consumer);
        await services.Consumer.StartAsync();
        await services.StartProducerAsync(producerOptions);
        return services;
    }

    /// <summary>(Re)starts the producing service over the same database, as a restarted process would.</summary>
    public async Task StartProducerAsync(Action<EventBusOptions>? configure = null)
    {
        if (Producer is not null)
        {
            await Producer.StopAsync();
        }
        var options = new EventBusOptions { Source = ProducerSource, RelayPollInterval = TimeSpan.FromMilliseconds(200) };
        configure?.Invoke(options);
        Producer = new EventBus(options, await producerDatabase.OpenAsync(), Transport);
        await Producer.StartAsync();
    }

    /// <summary>Commits state + a ThingHappened for <paramref name="courtyard"/> (sequence numbers count per courtyard).</summary>
    public async Task<long> CommitAsync(string courtyard, long sequence)
    {
        var version = versions.GetValueOrDefault(courtyard);
        versions[courtyard] = await Producer.CommitThingAsync(courtyard, sequence, version);
        return versions[courtyard];
    }

    public async ValueTask DisposeAsync()
    {
        await Producer.StopAsync();
        await Consumer.StopAsync();
        await Transport.DisposeAsync();
        await producerDatabase.DisposeAsync();
        await consumerDatabase.DisposeAsync();
    }
}
