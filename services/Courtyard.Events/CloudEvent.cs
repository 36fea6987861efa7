using System.Text;
using System.Text.Json;

namespace Courtyard.Events;

/// <summary>
/// A CloudEvents 1.0 envelope in its JSON (structured) form. Identity is (<see cref="Source"/>, <see cref="Id"/>);
/// our ids are also globally unique on their own ("councils-1234": the source, then the outbox row id).
/// <see cref="Data"/> is the protobuf payload already JSON-formatted (raw JSON text, written unquoted).
/// </summary>
public sealed record CloudEvent
{
    public const string SpecVersion = "1.0";
    public const string JsonContentType = "application/json";
    public const string MediaType = "application/cloudevents+json";

    public required string Id { get; init; }
    public required string Source { get; init; }
    public required string Type { get; init; }
    /// <summary>The courtyard the event is about: events are ordered per courtyard (CloudEvents <c>subject</c>).</summary>
    public required string Subject { get; init; }
    public DateTimeOffset Time { get; init; }
    public string DataContentType { get; init; } = JsonContentType;
    public required string Data { get; init; }
    /// <summary>W3C traceparent of the activity that produced the event (CloudEvents distributed tracing extension).</summary>
    public string? TraceParent { get; init; }

    public byte[] ToJsonUtf8()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + Data.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("specversion", SpecVersion);
            writer.WriteString("id", Id);
            writer.WriteString("source", Source);
            writer.WriteString("type", Type);
            writer.WriteString("subject", Subject);
            writer.WriteString("time", Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("datacontenttype", DataContentType);
            if (TraceParent is not null)
            {
                writer.WriteString("traceparent", TraceParent);
            }
            writer.WritePropertyName("data");
            writer.WriteRawValue(Data);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public string ToJson() => Encoding.UTF8.GetString(ToJsonUtf8());

    /// <summary>Parses a structured-mode CloudEvent; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static CloudEvent Parse(ReadOnlySpan<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new FormatException($"Not a CloudEvent: the body is not JSON ({e.Message}).", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("Not a CloudEvent: the body is not a JSON object.");
            }
            var specVersion = Required(root, "specversion");
            if (specVersion != SpecVersion)
            {
                throw new FormatException($"Unsupported CloudEvents specversion \"{specVersion}\" (expected \"1.0\").");
            }
            if (!root.TryGetProperty("data", out var data))
            {
                throw new FormatException("CloudEvent has no \"data\".");
            }
            return new CloudEvent
            {
                Id = Required(root, "id"),
                Source = Required(root, "source"),
                Type = Required(root, "type"),
                Subject = Optional(root, "subject") ?? "",
                Time = Optional(root, "time") is { } time ? DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture) : default,
                DataContentType = Optional(root, "datacontenttype") ?? JsonContentType,
                // Some senders (Dapr with a non-JSON content type) put the payload in a JSON string.
                Data = data.ValueKind == JsonValueKind.String ? data.GetString()! : data.GetRawText(),
                TraceParent = Optional(root, "traceparent"),
            };
        }
    }

    private static string Required(JsonElement root, string name) =>
        Optional(root, name) ?? throw new FormatException($"CloudEvent has no \"{name}\".");

    private static string? Optional(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
