using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Courtyard.Events.Transports;
using Courtyard.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Inbox;

internal sealed record HandlerRegistration(EventDefinition Definition, Func<IMessage, EventContext, Task> Handler);

/// <summary>The outcome of running a handler once, outside the transport (dead-letter replay).</summary>
public enum HandleOutcome
{
    Handled,
    /// <summary>The inbox already had the event: the handler did not run.</summary>
    AlreadyHandled,
}

/// <summary>
/// One consumer: its handlers by event type and its inbox. Turns a delivery into ack / retry / dead letter:
/// a duplicate (mark already in the inbox) is answered Success without running the handler; a handler failure is
/// retried until <see cref="EventBusOptions.MaxDeliveryAttempts"/>, then stored as a dead letter and dropped.
/// </summary>
internal sealed class ConsumerDispatcher
{
    private readonly string consumer;
    private readonly Dictionary<string, HandlerRegistration> handlers;
    private readonly IStorageProvider storage;
    private readonly EventBusOptions options;
    private readonly IServiceProvider services;
    private readonly ILogger logger;
    // Failures per event seen by this process: transports that cannot count deliveries (Dapr) rely on it.
    private readonly ConcurrentDictionary<(string Source, string Id), int> failures = new();

    public ConsumerDispatcher(string consumer, IEnumerable<HandlerRegistration> handlers, IStorageProvider storage,
        EventBusOptions options, IServiceProvider services, ILogger logger)
    {
        this.consumer = consumer;
        this.handlers = handlers.ToDictionary(h => h.Definition.Type, StringComparer.Ordinal);
        this.storage = storage;
        this.options = options;
        this.services = services;
        this.logger = logger;
        Topics = this.handlers.Values.Select(h => h.Definition.Topic).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }

    public string Consumer => consumer;

    public IReadOnlyCollection<string> Topics { get; }

    public IReadOnlyCollection<string> EventTypes => handlers.Keys;

    public Subscription ToSubscription() => new(consumer, Topics, DispatchAsync)
    {
        EventTypes = handlers.Values.Select(h => (h.Definition.Type, h.Definition.Topic)).ToArray(),
    };

    public async Task<DeliveryResult> DispatchAsync(IncomingEvent delivery, CancellationToken cancellationToken)
    {
        CloudEvent cloudEvent;
        try
        {
            cloudEvent = CloudEvent.Parse(delivery.Body.Span);
        }
        catch (FormatException e)
        {
            return await DeadLetterAsync(delivery, null, e, attempts: 1, cancellationToken);
        }

        if (!handlers.TryGetValue(cloudEvent.Type, out var registration))
        {
            return DeliveryResult.Success;   // another consumer's event on a shared topic
        }
        var consumerTag = new KeyValuePair<string, object?>("consumer", consumer);
        if (delivery.Redelivered || delivery.DeliveryAttempt > 1)
        {
            EventMetrics.Redeliveries.Add(1, consumerTag);
        }

        var mark = new InboxMark(consumer, cloudEvent.Source, cloudEvent.Id);
        if (await storage.Inbox.ContainsAsync(mark, cancellationToken))
        {
            EventMetrics.Duplicates.Add(1, consumerTag);
            failures.TryRemove((mark.Source, mark.EventId), out _);
            return DeliveryResult.Success;
        }

        IMessage message;
        try
        {
            message = registration.Definition.ParseData(cloudEvent.Data);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException)
        {
            // A payload that does not parse never will: no point retrying.
            return await DeadLetterAsync(delivery, cloudEvent, e, attempts: 1, cancellationToken);
        }

        var key = (mark.Source, mark.EventId);
        var attempt = Math.Max(delivery.DeliveryAttempt, failures.GetValueOrDefault(key) + 1);
        try
        {
            await RunHandlerAsync(registration, message, cloudEvent, mark, delivery.Topic, attempt, cancellationToken);
            failures.TryRemove(key, out _);
            EventMetrics.Handled.Add(1, consumerTag, new KeyValuePair<string, object?>("type", cloudEvent.Type));
            return DeliveryResult.Success;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            failures[key] = attempt;
            if (attempt >= options.MaxDeliveryAttempts)
            {
                failures.TryRemove(key, out _);
                return await DeadLetterAsync(delivery, cloudEvent, e, attempt, cancellationToken);
            }
            logger.LogWarning(e, "Consumer {Consumer}: handling {Type} {Id} failed (attempt {Attempt} of {Max}); it will be redelivered.",
                consumer, cloudEvent.Type, cloudEvent.Id, attempt, options.MaxDeliveryAttempts);
            return DeliveryResult.Retry;
        }
    }

    /// <summary>Runs the handler once on a stored event (dead-letter replay); exceptions reach the caller.</summary>
    public async Task<HandleOutcome> HandleOnceAsync(CloudEvent cloudEvent, string topic, CancellationToken cancellationToken)
    {
        if (!handlers.TryGetValue(cloudEvent.Type, out var registration))
        {
            throw new InvalidOperationException($"Consumer {consumer} has no handler for {cloudEvent.Type}.");
        }
        var mark = new InboxMark(consumer, cloudEvent.Source, cloudEvent.Id);
        if (await storage.Inbox.ContainsAsync(mark, cancellationToken))
        {
            return HandleOutcome.AlreadyHandled;
        }
        var message = registration.Definition.ParseData(cloudEvent.Data);
        await RunHandlerAsync(registration, message, cloudEvent, mark, topic, 1, cancellationToken);
        EventMetrics.Handled.Add(1, new KeyValuePair<string, object?>("consumer", consumer), new KeyValuePair<string, object?>("type", cloudEvent.Type));
        return HandleOutcome.Handled;
    }

    private async Task RunHandlerAsync(HandlerRegistration registration, IMessage message, CloudEvent cloudEvent, InboxMark mark,
        string topic, int attempt, CancellationToken cancellationToken)
    {
        using var activity = StartActivity(cloudEvent);
        var context = new EventContext(cloudEvent, mark, topic, attempt, services, cancellationToken);
        try
        {
            await registration.Handler(message, context);
            if (!context.MarkRecordedByHandler)
            {
                await storage.Inbox.TryRecordAsync(mark, cancellationToken);
            }
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
    }

    private Activity? StartActivity(CloudEvent cloudEvent)
    {
        if (!EventMetrics.ActivitySource.HasListeners())
        {
            return null;
        }
        ActivityContext.TryParse(cloudEvent.TraceParent, null, out var parent);
        var activity = EventMetrics.ActivitySource.StartActivity($"{cloudEvent.Type} process", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.consumer.group.name", consumer);
        activity?.SetTag("messaging.message.id", cloudEvent.Id);
        activity?.SetTag("cloudevents.event_type", cloudEvent.Type);
        activity?.SetTag("cloudevents.event_subject", cloudEvent.Subject);
        return activity;
    }

    private async Task<DeliveryResult> DeadLetterAsync(IncomingEvent delivery, CloudEvent? cloudEvent, Exception error, int attempts, CancellationToken cancellationToken)
    {
        var letter = new DeadLetter(0, consumer, cloudEvent?.Source ?? "", cloudEvent?.Id ?? "", cloudEvent?.Type ?? "", delivery.Topic,
            cloudEvent?.Subject ?? "", Encoding.UTF8.GetString(delivery.Body.Span), Describe(error), attempts, DateTimeOffset.UtcNow);
        try
        {
            var id = await storage.DeadLetters.AddAsync(letter, cancellationToken);
            EventMetrics.DeadLetters.Add(1, new KeyValuePair<string, object?>("consumer", consumer),
                new KeyValuePair<string, object?>("type", letter.EventType));
            logger.LogError(error, "Consumer {Consumer}: gave up on {Type} {Id} after {Attempts} attempt(s); stored as dead letter {DeadLetterId}.",
                consumer, letter.EventType, letter.EventId, attempts, id);
            return DeliveryResult.Drop;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Never drop what we could not keep: let the transport redeliver.
            logger.LogError(e, "Consumer {Consumer}: could not store dead letter for {Id}; it will be redelivered.", consumer, letter.EventId);
            return DeliveryResult.Retry;
        }
    }

    private static string Describe(Exception error)
    {
        var text = $"{error.GetType().Name}: {error.Message}";
        return text.Length > 2000 ? text[..2000] : text;
    }
}
