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
/// One service's integration events: the events it maps, the handlers of its consumers, its outbox relay and its
/// subscriptions, over the service's own storage and the process's transport.
/// <code>
/// bus.Map&lt;ProposalPassed&gt;("courtyard.councils.proposal_passed.v1", topic: "councils");
/// bus.Handle&lt;ProposalPassed&gt;("rules", async (e, ctx) =&gt; { ... state.WriteStateAsync(ctx.Mark) ...; ctx.MarkConsumed(); });
/// state.Publish(bus.ToOutbox(courtyardId, new ProposalPassed { ... }));   // committed with the grain's next write
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

    public EventBus(EventBusOptions options, IStorageProvider storage, IEventTransport transport, EventCatalog catalog,
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
        Catalog = catalog;
        this.loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        this.services = services ?? EmptyServiceProvider.Instance;
        logger = this.loggerFactory.CreateLogger("Courtyard.Events." + options.Source);
        Relay = new OutboxRelay(options, storage.Outbox, transport, this.loggerFactory.CreateLogger<OutboxRelay>());
    }

    public string Source => Options.Source;
    public EventBusOptions Options { get; }
    public IStorageProvider Storage { get; }
    public IEventTransport Transport { get; }
    public EventCatalog Catalog { get; }
    public OutboxRelay Relay { get; }

    /// <summary>The consumers declared with <see cref="Handle{T}"/>.</summary>
    public IReadOnlyCollection<string> Consumers => registrations.Select(r => r.Consumer).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>Declares an event contract (see <see cref="EventCatalog.Map{T}"/>).</summary>
    public EventBus Map<T>(string type, string topic) where T : IMessage<T>, new()
    {
        Catalog.Map<T>(type, topic);
        return this;
    }

    /// <summary>
    /// Declares that <paramref name="consumer"/> (an inbox, and a queue per topic) handles <typeparamref name="T"/>.
    /// Declare every handler before <see cref="StartAsync"/>.
    /// </summary>
    public EventBus Handle<T>(string consumer, Func<T, EventContext, Task> handler) where T : IMessage<T>, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(consumer);
        ArgumentNullException.ThrowIfNull(handler);
        if (consumersStarted)
        {
            throw new InvalidOperationException("Declare handlers before the event bus starts.");
        }
        var definition = Catalog.Get<T>();
        if (registrations.Any(r => r.Consumer == consumer && r.Registration.Definition.Type == definition.Type))
        {
            throw new InvalidOperationException($"Consumer {consumer} already handles {definition.Type}: one handler per consumer and event type.");
        }
        registrations.Add((consumer, new HandlerRegistration(definition, (message, context) => handler((T)message, context))));
        return this;
    }

    /// <summary>The outbox row for <paramref name="message"/> about <paramref name="courtyardId"/>, carrying the current trace.</summary>
    public OutboxMessage ToOutbox<T>(string courtyardId, T message) where T : IMessage<T>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(courtyardId);
        var definition = Catalog.Get<T>();
        return new OutboxMessage(courtyardId, definition.Topic, definition.Type, EventCatalog.FormatData(message), Activity.Current?.Id);
    }

    /// <summary>Appends events in their own transaction (for events not tied to a state change) and wakes the relay.</summary>
    public async Task<IReadOnlyList<long>> PublishAsync<T>(string courtyardId, T message, CancellationToken cancellationToken = default)
        where T : IMessage<T>
    {
        var ids = await Storage.Outbox.AppendAsync([ToOutbox(courtyardId, message)], cancellationToken);
        Relay.Wake();
        return ids;
    }

    /// <summary>Tell the relay that outbox rows were committed (the grain runtime does it through IOutboxCommitListener).</summary>
    public void NotifyCommitted() => Relay.Wake();

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
        if (!dispatchers.TryGetValue(letter.Consumer, out var dispatcher))
        {
            throw new InvalidOperationException($"Consumer {letter.Consumer} is not declared in {Source}: cannot replay dead letter {deadLetterId}.");
        }
        var cloudEvent = CloudEvent.Parse(System.Text.Encoding.UTF8.GetBytes(letter.CloudEventJson));
        var outcome = await dispatcher.HandleOnceAsync(cloudEvent, letter.Topic, cancellationToken);
        await Storage.DeadLetters.RemoveAsync(deadLetterId, cancellationToken);
        logger.LogInformation("Dead letter {DeadLetterId} ({Type} {Id}) of consumer {Consumer} replayed: {Outcome}.",
            deadLetterId, letter.EventType, letter.EventId, letter.Consumer, outcome);
        return outcome;
    }

    /// <summary>The dispatcher of a consumer (for transports that call in, like Dapr's HTTP routes).</summary>
    internal ConsumerDispatcher? FindDispatcher(string consumer) => dispatchers.GetValueOrDefault(consumer);

    private sealed class EmptyServiceProvider : IServiceProvider
    {
        public static readonly EmptyServiceProvider Instance = new();
        public object? GetService(Type serviceType) => null;
    }
}
