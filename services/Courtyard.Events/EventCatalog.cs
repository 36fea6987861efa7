using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Courtyard.Common.V1;
using Courtyard.Storage;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Courtyard.Events;

/// <summary>One integration event contract: CloudEvents type, protobuf message, topic.</summary>
public sealed class EventDefinition
{
    private readonly MessageParser parser;

    internal EventDefinition(string type, string topic, MessageDescriptor descriptor)
    {
        Type = type;
        Topic = topic;
        Descriptor = descriptor;
        parser = descriptor.Parser;
    }

    /// <summary>CloudEvents type, <c>courtyard.&lt;service&gt;.&lt;event&gt;.v&lt;N&gt;</c>.</summary>
    public string Type { get; }

    public string Topic { get; }

    public MessageDescriptor Descriptor { get; }

    public System.Type MessageType => Descriptor.ClrType;

    /// <summary>Parses the event's JSON data (unknown fields are ignored, so producers can add fields).</summary>
    public IMessage ParseData(string json) => EventCatalog.Parser.Parse(json, Descriptor);
}

/// <summary>
/// What each integration event is, read from its contract: the proto option
/// <c>(courtyard.common.v1.integration_event) = { type: "courtyard.councils.proposal_passed.v1" topic: "councils" }</c>
/// on the message (proto/courtyard/common/v1/integration_event.proto). Declared once, in the .proto next to the message;
/// nothing is mapped in code and nothing is guessed from type names. A message without the option is not an event.
/// </summary>
public static partial class EventCatalog
{
    internal static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));
    private static readonly ConcurrentDictionary<MessageDescriptor, EventDefinition> Definitions = new();

    [GeneratedRegex(@"^courtyard\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.v[1-9][0-9]*$")]
    private static partial Regex TypePattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    private static partial Regex TopicPattern();

    /// <summary>The contract of <typeparamref name="T"/>; throws when the message does not declare one.</summary>
    public static EventDefinition Get<T>() where T : IMessage<T>, new() => Get(new T().Descriptor);

    /// <summary>The contract of the message <paramref name="descriptor"/> describes; throws when it does not declare one.</summary>
    public static EventDefinition Get(MessageDescriptor descriptor) => Definitions.GetOrAdd(descriptor, Read);

    /// <summary>
    /// The outbox row for <paramref name="message"/> about <paramref name="courtyardId"/>, carrying the current trace
    /// (Activity.Current's W3C traceparent) so the consumer's span continues it.
    /// </summary>
    public static OutboxMessage ToOutbox<T>(string courtyardId, T message) where T : IMessage<T>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(courtyardId);
        ArgumentNullException.ThrowIfNull(message);
        var definition = Get(message.Descriptor);
        return new OutboxMessage(courtyardId, definition.Topic, definition.Type, FormatData(message), TraceParent());
    }

    internal static string FormatData(IMessage message) => Formatter.Format(message);

    private static string? TraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;

    private static EventDefinition Read(MessageDescriptor descriptor)
    {
        var declared = descriptor.GetOptions()?.GetExtension(IntegrationEventExtensions.IntegrationEvent)
            ?? throw new InvalidOperationException(
                $"{descriptor.FullName} is not an integration event: declare option (courtyard.common.v1.integration_event) = {{ type: \"courtyard.<service>.<event>.v1\" topic: \"<service>\" }} on the message.");
        if (!TypePattern().IsMatch(declared.Type))
        {
            throw new InvalidOperationException(
                $"{descriptor.FullName} declares event type \"{declared.Type}\": it must look like courtyard.<service>.<event>.v<N> (lower case, e.g. courtyard.councils.proposal_passed.v1).");
        }
        if (!TopicPattern().IsMatch(declared.Topic))
        {
            throw new InvalidOperationException($"{descriptor.FullName} declares topic \"{declared.Topic}\": it may only contain letters, digits, '.', '-' and '_'.");
        }
        return new EventDefinition(declared.Type, declared.Topic, descriptor);
    }
}

/// <summary>Raising an integration event from grain state: one line next to the state change.</summary>
public static class PendingEffectsExtensions
{
    /// <summary>
    /// Raises <paramref name="message"/> about <paramref name="courtyardId"/>: it becomes an outbox row committed by the
    /// state's next write, in the same transaction (<c>State.Raise(courtyardId, new ProposalPassed { … });</c> then
    /// <c>await state.WriteStateAsync();</c>). Type and topic come from the message's contract; the current trace goes with it.
    /// </summary>
    public static void Raise<T>(this IHasPendingEffects state, string courtyardId, T message) where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(state);
        state.Effects.Publish(EventCatalog.ToOutbox(courtyardId, message));
    }
}
