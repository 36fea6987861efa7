using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Courtyard.Events.Transports;
using Courtyard.Storage;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Inbox;

/// <param name="StoresEffect">Declared with Handle (must commit a mark it took) rather than HandleWithoutStoredEffect.</param>
internal sealed record HandlerRegistration(EventDefinition Definition, Func<IMessage, EventDelivery, Task> Handler, bool StoresEffect = true);

/// <summary>The outcome of running a handler outside the transport (dead-letter replay, racing deliveries).</summary>
public enum HandleOutcome
{
    Handled,
    /// <summary>The inbox already had the event: the handler did not run.</summary>
    AlreadyHandled,
    /// <summary>The handler threw (for a racing delivery: typically because the other one committed the mark first).</summary>
    Failed,
}

/// <summary>
/// A handler declared with a stored effect returned without committing an inbox mark with it (it took none, or did not
/// commit the one it took): its effect would not be exactly-once.
/// </summary>
public sealed class UncommittedMarkException(InboxMark mark, string eventType, bool taken)
    : InvalidOperationException(
        (taken
            ? $"The handler of {eventType} for consumer {mark.Consumer} took the inbox mark {mark.EventId} but returned without committing it. "
            : $"The handler of {eventType} for consumer {mark.Consumer} took no inbox mark. ") +
        "Pass delivery.TakeMark() to the one state write that carries the effect (in a grain: State.Effects.Consume(mark) before " +
        "WriteStateAsync(), also when the event changes nothing); declare a handler without a stored effect with HandleWithoutStoredEffect.")
{
    public InboxMark Mark { get; } = mark;
}

/// <summary>
/// One consumer: its handlers by event type and its inbox. Turns a delivery into ack / retry / dead letter:
/// a duplicate (mark already in the inbox) is answered Success without running the handler; a handler failure is
/// retried until <see cref="EventBusOptions.MaxDeliveryAttempts"/>, then stored as a dead letter and dropped.
/// </summary>
internal sealed class ConsumerDispatcher
{
    // Failures counted in memory per event, for transports that do not count deliveries (Dapr); bounded.
    private const int MaxFailuresRemembered = 10_000;

    private readonly Dictionary<string, HandlerRegistration> handlers;
    private readonly IStorageProvider storage;
    private readonly EventBusOptions options;
    private readonly IServiceProvider services;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<(string Source, string Id), int> failures = new();

    public ConsumerDispatcher(string consumer, IEnumerable<HandlerRegistration> handlers, IStorageProvider storage,
        EventBusOptions options, IServiceProvider services, ILogger logger)
    {
        Consumer = consumer;
        this.handlers = handlers.ToDictionary(h => h.Definition.Type, StringComparer.Ordinal);
        this.storage = storage;
        this.options = options;
        this.services = services;
        this.logger = logger;
        Topics = this.handlers.Values.Select(h => h.Definition.Topic).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }

    public string Consumer { get; }

    public IReadOnlyCollection<string> Topics { get; }

    public IReadOnlyCollection<string> EventTypes => handlers.Keys;

    public Subscription ToSubscription() => new(Consumer, Topics, DispatchAsync)
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
        var consumerTag = new KeyValuePair<string, object?>("consumer", Consumer);
        if (delivery.Redelivered || delivery.DeliveryAttempt > 1)
        {
            EventMetrics.Redeliveries.Add(1, consumerTag);
        }

        var mark = new InboxMark(Consumer, cloudEvent.Source, cloudEvent.Id);
        var key = (mark.Source, mark.EventId);
        if (await storage.Inbox.ContainsAsync(mark, cancellationToken))
        {
            EventMetrics.Duplicates.Add(1, consumerTag);
            failures.TryRemove(key, out _);
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

        var attempt = Math.Max(delivery.DeliveryAttempt, failures.GetValueOrDefault(key) + 1);
        if (attempt > options.MaxDeliveryAttempts)
        {
            // Delivered more often than allowed without ever being settled: its handler takes the process down with it.
            return await DeadLetterAsync(delivery, cloudEvent,
                new InvalidOperationException($"Delivered {attempt - 1} times without being settled (did handling it end the process?)."), attempt - 1, cancellationToken);
        }
        try
        {
            await RunHandlerAsync(registration, message, cloudEvent, delivery.Topic, attempt, cancellationToken);
            failures.TryRemove(key, out _);
            EventMetrics.Handled.Add(1, consumerTag, new KeyValuePair<string, object?>("type", cloudEvent.Type));
            return DeliveryResult.Success;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            if (failures.Count >= MaxFailuresRemembered)
            {
                failures.Clear();
            }
            failures[key] = attempt;
            if (attempt >= options.MaxDeliveryAttempts)
            {
                failures.TryRemove(key, out _);
                return await DeadLetterAsync(delivery, cloudEvent, e, attempt, cancellationToken);
            }
            logger.Log(e is UncommittedMarkException ? LogLevel.Error : LogLevel.Warning, e,
                "Consumer {Consumer}: handling {Type} {Id} failed (attempt {Attempt} of {Max}); it will be redelivered.",
                Consumer, cloudEvent.Type, cloudEvent.Id, attempt, options.MaxDeliveryAttempts);
            return DeliveryResult.Retry;
        }
    }

    /// <summary>Runs the handler once on a stored event (dead-letter replay); exceptions reach the caller.</summary>
    public async Task<HandleOutcome> HandleOnceAsync(CloudEvent cloudEvent, string topic, CancellationToken cancellationToken)
    {
        var registration = Registration(cloudEvent);
        if (await storage.Inbox.ContainsAsync(new InboxMark(Consumer, cloudEvent.Source, cloudEvent.Id), cancellationToken))
        {
            return HandleOutcome.AlreadyHandled;
        }
        var message = registration.Definition.ParseData(cloudEvent.Data);
        await RunHandlerAsync(registration, message, cloudEvent, topic, 1, cancellationToken);
        EventMetrics.Handled.Add(1, new KeyValuePair<string, object?>("consumer", Consumer), new KeyValuePair<string, object?>("type", cloudEvent.Type));
        return HandleOutcome.Handled;
    }

    /// <summary>
    /// <paramref name="deliveries"/> deliveries of one event that all pass the duplicate check before any handler runs
    /// (competing consumers, a Dapr redelivery, two relays during a takeover), then run at once.
    /// </summary>
    public async Task<IReadOnlyList<HandleOutcome>> HandleConcurrentlyAsync(CloudEvent cloudEvent, string topic, int deliveries,
        CancellationToken cancellationToken)
    {
        var registration = Registration(cloudEvent);
        var mark = new InboxMark(Consumer, cloudEvent.Source, cloudEvent.Id);
        var passed = new bool[deliveries];
        for (var i = 0; i < deliveries; i++)
        {
            passed[i] = !await storage.Inbox.ContainsAsync(mark, cancellationToken);
        }
        return await Task.WhenAll(passed.Select(async pass =>
        {
            if (!pass)
            {
                return HandleOutcome.AlreadyHandled;
            }
            await Task.Yield();
            try
            {
                await RunHandlerAsync(registration, registration.Definition.ParseData(cloudEvent.Data), cloudEvent, topic, 1, cancellationToken);
                return HandleOutcome.Handled;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogDebug(e, "Consumer {Consumer}: a racing delivery of {Id} failed.", Consumer, cloudEvent.Id);
                return HandleOutcome.Failed;
            }
        }));
    }

    private HandlerRegistration Registration(CloudEvent cloudEvent) =>
        handlers.TryGetValue(cloudEvent.Type, out var registration)
            ? registration
            : throw new InvalidOperationException($"Consumer {Consumer} has no handler for {cloudEvent.Type}.");

    private async Task RunHandlerAsync(HandlerRegistration registration, IMessage message, CloudEvent cloudEvent,
        string topic, int attempt, CancellationToken cancellationToken)
    {
        using var activity = StartActivity(cloudEvent);
        var delivery = new EventDelivery(cloudEvent, Consumer, topic, attempt, services, cancellationToken);
        try
        {
            await registration.Handler(message, delivery);
            var taken = delivery.TakenMarks;
            if (registration.StoresEffect && taken.Count == 0)
            {
                throw new UncommittedMarkException(delivery.EventMark, cloudEvent.Type, taken: false);
            }
            foreach (var mark in taken)
            {
                if (!await storage.Inbox.ContainsAsync(mark, cancellationToken))
                {
                    throw new UncommittedMarkException(mark, cloudEvent.Type, taken: true);
                }
            }
            if (!taken.Contains(delivery.EventMark))
            {
                // No stored effect, or effects with marks of their own: record the event itself for the duplicate check.
                await storage.Inbox.TryRecordAsync(delivery.EventMark, cancellationToken);
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
        activity?.SetTag("messaging.consumer.group.name", Consumer);
        activity?.SetTag("messaging.message.id", cloudEvent.Id);
        activity?.SetTag("cloudevents.event_type", cloudEvent.Type);
        activity?.SetTag("cloudevents.event_subject", cloudEvent.Subject);
        return activity;
    }

    private async Task<DeliveryResult> DeadLetterAsync(IncomingEvent delivery, CloudEvent? cloudEvent, Exception error, int attempts, CancellationToken cancellationToken)
    {
        var letter = new DeadLetter(0, Consumer, cloudEvent?.Source ?? "", cloudEvent?.Id ?? "", cloudEvent?.Type ?? "", delivery.Topic,
            cloudEvent?.Subject ?? "", Encoding.UTF8.GetString(delivery.Body.Span), Describe(error), attempts, DateTimeOffset.UtcNow);
        try
        {
            var id = await storage.DeadLetters.AddAsync(letter, cancellationToken);
            EventMetrics.DeadLetters.Add(1, new KeyValuePair<string, object?>("consumer", Consumer),
                new KeyValuePair<string, object?>("type", letter.EventType));
            logger.LogError(error, "Consumer {Consumer}: gave up on {Type} {Id} after {Attempts} attempt(s); stored as dead letter {DeadLetterId}.",
                Consumer, letter.EventType, letter.EventId, attempts, id);
            return DeliveryResult.Drop;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Never drop what we could not keep: let the transport redeliver.
            logger.LogError(e, "Consumer {Consumer}: could not store dead letter for {Id}; it will be redelivered.", Consumer, letter.EventId);
            return DeliveryResult.Retry;
        }
    }

    private static string Describe(Exception error)
    {
        var text = $"{error.GetType().Name}: {error.Message}";
        return text.Length > 2000 ? text[..2000] : text;
    }
}
