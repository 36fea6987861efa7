using System.Diagnostics;
using Courtyard.Events.Inbox;
using Courtyard.Events.Outbox;
using Courtyard.Events.Transports;
using Courtyard.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Courtyard.Events;

/// <summary>
/// One service's integration events: the handlers of its consumers, its outbox relay and its subscriptions, over the
/// service's own storage and the process's transport.
/// <code>
/// bus.Handle&lt;ProposalPassed&gt;("rules", (passed, delivery) =&gt;
///     grains.GetGrain&lt;IRulebookGrain&gt;(delivery.CourtyardId).EnactAmendment(passed, delivery.TakeMark()));
/// State.Raise(courtyardId, new ProposalPassed { ... });   // in a grain: committed with its next state write
/// </code>
/// </summary>
public sealed class EventBus : IAsyncDisposable
{
    private readonly List<(string Consumer, HandlerRegistration Registration)> registrations = [];
    private readonly Dictionary<string, ConsumerDispatcher> dispatchers = new(StringComparer.Ordinal);
    private readonly List<IAsyncDisposable> subscriptions = [];
    private readonly IServiceProvider services;
    private readonly ILoggerFactory loggerFactory;
    private readonly ILogger logger;
    private CancellationTokenSource? relayStop;
    private Task? relayTask;
    private CancellationTokenSource? retentionStop;
    private Task? retentionTask;
    private bool consumersStarted;

    public EventBus(EventBusOptions options, IStorageProvider storage, IEventTransport transport,
        ILoggerFactory? loggerFactory = null, IServiceProvider? services = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Source);
        if (options.Source.Contains('/') || options.Source.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"Event source \"{options.Source}\" must be a plain service name (no '/', no spaces).", nameof(options));
        }
        Options = options;
        Storage = storage;
        Transport = transport;
        this.loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        this.services = services ?? EmptyServiceProvider.Instance;
        logger = this.loggerFactory.CreateLogger("Courtyard.Events." + options.Source);
        Relay = new OutboxRelay(options, storage.Outbox, transport, this.loggerFactory.CreateLogger<OutboxRelay>());
    }

    public string Source => Options.Source;
    public EventBusOptions Options { get; }
    public IStorageProvider Storage { get; }
    public IEventTransport Transport { get; }
    public OutboxRelay Relay { get; }

    /// <summary>The topics the declared handlers listen to.</summary>
    public IReadOnlyCollection<string> Topics =>
        registrations.Select(r => r.Registration.Definition.Topic).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The consumers declared with <see cref="Handle{T}"/>.</summary>
    public IReadOnlyCollection<string> Consumers => registrations.Select(r => r.Consumer).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Declares that <paramref name="consumer"/> (an inbox, and a queue per topic) handles <typeparamref name="T"/> with a
    /// stored effect: the handler must take the delivery's inbox mark (<see cref="EventDelivery.TakeMark"/>, or one per
    /// effect with <see cref="EventDelivery.TakeMarkFor"/>) and commit it with the effect, or the delivery fails loudly.
    /// Declare every handler before <see cref="StartAsync"/>.
    /// </summary>
    public EventBus Handle<T>(string consumer, Func<T, EventDelivery, Task> handler) where T : IMessage<T>, new() =>
        Register(consumer, handler, storesEffect: true);

    /// <summary>
    /// Declares a handler without a stored effect (a notification, a cache, a call that is idempotent on its own): it
    /// takes no mark, and the dispatcher records the event as handled once the handler returns.
    /// </summary>
    public EventBus HandleWithoutStoredEffect<T>(string consumer, Func<T, EventDelivery, Task> handler) where T : IMessage<T>, new() =>
        Register(consumer, handler, storesEffect: false);

    private EventBus Register<T>(string consumer, Func<T, EventDelivery, Task> handler, bool storesEffect) where T : IMessage<T>, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(consumer);
        ArgumentNullException.ThrowIfNull(handler);
        if (consumersStarted)
        {
            throw new InvalidOperationException("Declare handlers before the event bus starts.");
        }
        var definition = EventCatalog.Get<T>();
        if (registrations.Any(r => r.Consumer == consumer && r.Registration.Definition.Type == definition.Type))
        {
            throw new InvalidOperationException($"Consumer {consumer} already handles {definition.Type}: one handler per consumer and event type.");
        }
        registrations.Add((consumer, new HandlerRegistration(definition, (message, delivery) => handler((T)message, delivery), storesEffect)));
        return this;
    }

    /// <summary>Appends an event in its own transaction (for events not tied to a state change) and wakes the relay.</summary>
    public async Task<long> PublishAsync<T>(string courtyardId, T message, CancellationToken cancellationToken = default)
        where T : IMessage<T>
    {
        var ids = await Storage.Outbox.AppendAsync([EventCatalog.ToOutbox(courtyardId, message)], cancellationToken);
        Relay.Wake();
        return ids[0];
    }

    /// <summary>Subscribes the consumers, then starts the relay and the retention purge (each as the options allow).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await StartConsumersAsync(cancellationToken);
        StartRelay();
        StartRetention();
    }

    /// <summary>Subscribes every declared consumer to the topics of the events it handles.</summary>
    public async Task StartConsumersAsync(CancellationToken cancellationToken = default)
    {
        if (consumersStarted)
        {
            return;
        }
        consumersStarted = true;
        foreach (var group in registrations.GroupBy(r => r.Consumer, StringComparer.Ordinal))
        {
            dispatchers[group.Key] = new ConsumerDispatcher(group.Key, group.Select(r => r.Registration), Storage, Options, services,
                loggerFactory.CreateLogger<ConsumerDispatcher>());
        }
        if (!Options.ConsumersEnabled)
        {
            return;
        }
        foreach (var dispatcher in dispatchers.Values)
        {
            subscriptions.Add(await Transport.SubscribeAsync(dispatcher.ToSubscription(), cancellationToken));
            logger.LogInformation("Consumer {Consumer} of {Source} subscribed to {Topics} over {Transport}.",
                dispatcher.Consumer, Source, string.Join(", ", dispatcher.Topics), Transport.Name);
        }
    }

    public void StartRelay()
    {
        if (relayTask is not null || !Options.RelayEnabled)
        {
            return;
        }
        relayStop = new CancellationTokenSource();
        relayTask = Task.Run(() => Relay.RunAsync(relayStop.Token));
    }

    /// <summary>Starts purging, every <see cref="EventBusOptions.RetentionInterval"/>, sent outbox rows and inbox marks past their retention.</summary>
    public void StartRetention()
    {
        if (retentionTask is not null || !Options.RetentionEnabled)
        {
            return;
        }
        retentionStop = new CancellationTokenSource();
        retentionTask = Task.Run(() => RunRetentionAsync(retentionStop.Token));
    }

    /// <summary>
    /// Deletes outbox rows sent more than <see cref="EventBusOptions.SentOutboxRetention"/> ago and inbox marks recorded
    /// more than <see cref="EventBusOptions.InboxRetention"/> ago. Unsent rows are never deleted.
    /// </summary>
    public async Task<(long SentOutboxRows, long InboxMarks)> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        var now = DateTimeOffset.UtcNow;
        var rows = await Storage.Outbox.PurgeAsync(now - Options.SentOutboxRetention, cancellationToken);
        var marks = await Storage.Inbox.PurgeAsync(now - Options.InboxRetention, cancellationToken);
        if (rows > 0 || marks > 0)
        {
            logger.LogInformation("Retention of {Source}: deleted {Rows} sent outbox rows and {Marks} inbox marks.", Source, rows, marks);
        }
        return (rows, marks);
    }

    private async Task RunRetentionAsync(CancellationToken cancellationToken)
    {
        var delay = Options.RetentionInterval < TimeSpan.FromMinutes(1) ? Options.RetentionInterval : TimeSpan.FromMinutes(1);
        while (true)
        {
            try
            {
                await Task.Delay(delay, cancellationToken);
                await PurgeExpiredAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Retention of {Source}: the purge failed; trying again in {Interval}.", Source, Options.RetentionInterval);
            }
            delay = Options.RetentionInterval;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (retentionTask is not null)
        {
            await retentionStop!.CancelAsync();
            await retentionTask.WaitAsync(cancellationToken);
            retentionTask = null;
            retentionStop.Dispose();
            retentionStop = null;
        }
        if (relayTask is not null)
        {
            await relayStop!.CancelAsync();
            await relayTask.WaitAsync(cancellationToken);
            relayTask = null;
            relayStop.Dispose();
            relayStop = null;
        }
        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync();
        }
        subscriptions.Clear();
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>Runs the consumer's handler again on a dead letter; removes the letter when it succeeds. Throws what the handler throws.</summary>
    public async Task<HandleOutcome> ReplayDeadLetterAsync(long deadLetterId, CancellationToken cancellationToken = default)
    {
        var letter = await Storage.DeadLetters.GetAsync(deadLetterId, cancellationToken)
            ?? throw new KeyNotFoundException($"Dead letter {deadLetterId} of {Source} does not exist (already replayed or deleted?).");
        var cloudEvent = CloudEvent.Parse(System.Text.Encoding.UTF8.GetBytes(letter.CloudEventJson));
        var outcome = await Dispatcher(letter.Consumer).HandleOnceAsync(cloudEvent, letter.Topic, cancellationToken);
        await Storage.DeadLetters.RemoveAsync(deadLetterId, cancellationToken);
        logger.LogInformation("Dead letter {DeadLetterId} ({Type} {Id}) of consumer {Consumer} replayed: {Outcome}.",
            deadLetterId, letter.EventType, letter.EventId, letter.Consumer, outcome);
        return outcome;
    }

    /// <summary>Parked outbox rows (events the transport kept refusing), oldest first.</summary>
    public Task<IReadOnlyList<OutboxRecord>> ListParkedAsync(int max, CancellationToken cancellationToken = default) =>
        Storage.Outbox.ListParkedAsync(max, cancellationToken);

    /// <summary>Publishes a parked row again (its refusal count starts over); its courtyard's later events follow it.</summary>
    public async Task<bool> ReleaseParkedAsync(long outboxId, CancellationToken cancellationToken = default)
    {
        var released = await Storage.Outbox.ReleaseParkedAsync(outboxId, cancellationToken);
        if (released)
        {
            logger.LogWarning("Parked outbox row {Id} of {Source} released by an operator: it is published again.", outboxId, Source);
            Relay.Wake();
        }
        return released;
    }

    /// <summary>Deletes a parked row without publishing it; its courtyard's later events go on without it.</summary>
    public async Task<bool> DiscardParkedAsync(long outboxId, CancellationToken cancellationToken = default)
    {
        var discarded = await Storage.Outbox.DiscardParkedAsync(outboxId, cancellationToken);
        if (discarded)
        {
            logger.LogWarning("Parked outbox row {Id} of {Source} discarded by an operator: it will never be published.", outboxId, Source);
            Relay.Wake();
        }
        return discarded;
    }

    /// <summary>
    /// For tests of a handler: <paramref name="deliveries"/> deliveries of <paramref name="cloudEvent"/> to
    /// <paramref name="consumer"/> that all pass the duplicate check before any handler runs, as competing consumers, a
    /// Dapr redelivery or two relays during a takeover can. Whatever the handler writes must still happen once.
    /// </summary>
    public Task<IReadOnlyList<HandleOutcome>> DeliverConcurrentlyAsync(string consumer, CloudEvent cloudEvent, int deliveries = 2,
        CancellationToken cancellationToken = default)
    {
        var dispatcher = Dispatcher(consumer);
        var topic = EventTopicOf(cloudEvent.Type);
        return dispatcher.HandleConcurrentlyAsync(cloudEvent, topic, deliveries, cancellationToken);
    }

    private string EventTopicOf(string type) =>
        registrations.Select(r => r.Registration.Definition).FirstOrDefault(d => d.Type == type)?.Topic
        ?? throw new InvalidOperationException($"No consumer of {Source} handles {type}.");

    private ConsumerDispatcher Dispatcher(string consumer)
    {
        if (!consumersStarted)
        {
            throw new InvalidOperationException("Start the event bus first.");
        }
        return dispatchers.TryGetValue(consumer, out var dispatcher)
            ? dispatcher
            : throw new InvalidOperationException($"Consumer {consumer} is not declared in {Source}.");
    }

    private sealed class EmptyServiceProvider : IServiceProvider
    {
        public static readonly EmptyServiceProvider Instance = new();
        public object? GetService(Type serviceType) => null;
    }
}
