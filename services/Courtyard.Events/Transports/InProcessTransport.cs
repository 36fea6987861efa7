namespace Courtyard.Events.Transports;

public sealed class InProcessTransportOptions
{
    /// <summary>Courtyards handled in parallel per consumer.</summary>
    public int LanesPerConsumer { get; set; } = 64;

    /// <summary>Wait before redelivering an event whose handler failed.</summary>
    public Backoff RedeliveryBackoff { get; set; } = new(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(5));
}

/// <summary>
/// The embedded transport: every service of the process on one in-memory bus. Delivery is asynchronous (on the
/// consumer's lanes) with the same semantics as the brokers: at least once, redelivered after a failure, in order per
/// courtyard. A publish is "accepted" once every subscriber settled the event (handled, or dead-lettered), so the
/// relay marks an outbox row sent only then and a crash in between republishes it from the outbox. A topic with no
/// subscriber accepts and drops its events: subscribe before publishing (the hosted event bus does).
/// </summary>
public sealed class InProcessTransport(InProcessTransportOptions? options = null) : IEventTransport
{
    private readonly InProcessTransportOptions options = options ?? new InProcessTransportOptions();
    private readonly Lock gate = new();
    private Dictionary<string, LocalSubscriber[]> subscribersByTopic = new(StringComparer.Ordinal);

    public string Name => "inproc";

    public async Task<PublishResult> PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
    {
        var topics = subscribersByTopic;
        var settled = new Task[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var outgoing = events[i];
            if (!topics.TryGetValue(outgoing.Topic, out var subscribers) || subscribers.Length == 0)
            {
                settled[i] = Task.CompletedTask;
                continue;
            }
            var waits = new Task[subscribers.Length];
            for (var s = 0; s < subscribers.Length; s++)
            {
                waits[s] = subscribers[s].Enqueue(outgoing);
            }
            settled[i] = waits.Length == 1 ? waits[0] : Task.WhenAll(waits);
        }

        var accepted = 0;
        try
        {
            for (; accepted < settled.Length; accepted++)
            {
                await settled[accepted].WaitAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            return new PublishResult(accepted, e);
        }
        return PublishResult.All(events.Count);
    }

    public Task<IAsyncDisposable> SubscribeAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        var subscriber = new LocalSubscriber(this, subscription, options);
        lock (gate)
        {
            var copy = new Dictionary<string, LocalSubscriber[]>(subscribersByTopic, StringComparer.Ordinal);
            foreach (var topic in subscription.Topics)
            {
                copy[topic] = [.. copy.GetValueOrDefault(topic) ?? [], subscriber];
            }
            subscribersByTopic = copy;
        }
        return Task.FromResult<IAsyncDisposable>(subscriber);
    }

    private void Remove(LocalSubscriber subscriber)
    {
        lock (gate)
        {
            subscribersByTopic = subscribersByTopic.ToDictionary(p => p.Key, p => p.Value.Where(s => s != subscriber).ToArray(), StringComparer.Ordinal);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class LocalDelivery(OutgoingEvent outgoing)
    {
        public OutgoingEvent Outgoing { get; } = outgoing;
        public TaskCompletionSource Settled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class LocalSubscriber : IAsyncDisposable
    {
        private readonly InProcessTransport owner;
        private readonly CourtyardLanes<LocalDelivery> lanes;

        public LocalSubscriber(InProcessTransport owner, Subscription subscription, InProcessTransportOptions options)
        {
            this.owner = owner;
            lanes = new CourtyardLanes<LocalDelivery>(options.LanesPerConsumer, options.RedeliveryBackoff,
                (delivery, attempt, token) => subscription.Handler(
                    new IncomingEvent(delivery.Outgoing.Topic, delivery.Outgoing.Body, attempt, attempt > 1), token),
                (delivery, _) => { delivery.Settled.TrySetResult(); return Task.CompletedTask; },
                delivery => delivery.Settled.TrySetException(new InvalidOperationException("The in-process subscriber stopped before handling the event.")));
        }

        public Task Enqueue(OutgoingEvent outgoing)
        {
            var delivery = new LocalDelivery(outgoing);
            lanes.Enqueue(outgoing.Event.Subject, delivery);
            return delivery.Settled.Task;
        }

        public async ValueTask DisposeAsync()
        {
            owner.Remove(this);
            await lanes.DisposeAsync();
        }
    }
}
