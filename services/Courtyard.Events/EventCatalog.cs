using System.Text.RegularExpressions;
using Google.Protobuf;

namespace Courtyard.Events;

/// <summary>One integration event contract: CloudEvents type, protobuf message, topic.</summary>
public sealed class EventDefinition
{
    private readonly Func<string, IMessage> parse;

    internal EventDefinition(string type, string topic, Type messageType, Func<string, IMessage> parse)
    {
        Type = type;
        Topic = topic;
        MessageType = messageType;
        this.parse = parse;
    }

    /// <summary>CloudEvents type, <c>courtyard.&lt;service&gt;.&lt;event&gt;.v&lt;N&gt;</c>.</summary>
    public string Type { get; }
    public string Topic { get; }
    public Type MessageType { get; }

    /// <summary>Parses the event's JSON data (Google.Protobuf JsonParser; unknown fields are ignored so producers can add fields).</summary>
    public IMessage ParseData(string json) => parse(json);
}

/// <summary>
/// The explicit list of integration events a process knows: event type string &lt;-&gt; protobuf message type &lt;-&gt; topic.
/// Declared once, in code (<c>catalog.Map&lt;ProposalPassed&gt;("courtyard.councils.proposal_passed.v1", topic: "councils")</c>);
/// nothing is discovered by reflection over type names. Shared by every event bus of the process.
/// </summary>
public sealed partial class EventCatalog
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    private readonly Lock gate = new();
    private Dictionary<string, EventDefinition> byType = new(StringComparer.Ordinal);
    private Dictionary<Type, EventDefinition> byMessage = new();

    [GeneratedRegex(@"^courtyard\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.v[1-9][0-9]*$")]
    private static partial Regex TypePattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    private static partial Regex TopicPattern();

    /// <summary>Declares that <typeparamref name="T"/> travels as <paramref name="type"/> on <paramref name="topic"/>.</summary>
    public EventCatalog Map<T>(string type, string topic) where T : IMessage<T>, new()
    {
        if (!TypePattern().IsMatch(type))
        {
            throw new ArgumentException($"Event type \"{type}\" must look like courtyard.<service>.<event>.v<N> (lower case, e.g. courtyard.councils.proposal_passed.v1).", nameof(type));
        }
        if (!TopicPattern().IsMatch(topic))
        {
            throw new ArgumentException($"Topic \"{topic}\" may only contain letters, digits, '.', '-' and '_'.", nameof(topic));
        }
        var definition = new EventDefinition(type, topic, typeof(T), json => Parser.Parse<T>(json));
        lock (gate)
        {
            if (byType.TryGetValue(type, out var existing))
            {
                if (existing.MessageType == typeof(T) && existing.Topic == topic)
                {
                    return this;
                }
                throw new InvalidOperationException($"Event type \"{type}\" is already mapped to {existing.MessageType.Name} on topic \"{existing.Topic}\".");
            }
            if (byMessage.TryGetValue(typeof(T), out var other))
            {
                throw new InvalidOperationException($"{typeof(T).Name} is already mapped to \"{other.Type}\"; a message type travels under one event type (version it with a new message).");
            }
            // Copy-on-write: lookups on the hot path read without locking.
            byType = new Dictionary<string, EventDefinition>(byType, StringComparer.Ordinal) { [type] = definition };
            byMessage = new Dictionary<Type, EventDefinition>(byMessage) { [typeof(T)] = definition };
        }
        return this;
    }

    public EventDefinition? FindByType(string type) => byType.GetValueOrDefault(type);

    public EventDefinition Get<T>() where T : IMessage<T> =>
        byMessage.GetValueOrDefault(typeof(T))
        ?? throw new InvalidOperationException($"{typeof(T).Name} is not mapped to an event type: call Map<{typeof(T).Name}>(\"courtyard.<service>.<event>.v1\", topic) first.");

    public IReadOnlyCollection<EventDefinition> Definitions => byType.Values;

    internal static string FormatData(IMessage message) => Formatter.Format(message);
}
