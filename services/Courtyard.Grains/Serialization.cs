using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.Options;

namespace Courtyard.Grains;

/// <summary>Turns grain state into the bytes stored by <see cref="Courtyard.Storage.IStateStore"/> and back.</summary>
public interface IGrainStateSerializer
{
    byte[] Serialize<T>(T value);
    T Deserialize<T>(ReadOnlySpan<byte> data);
}

/// <summary>
/// The default: UTF-8 JSON. Plain classes go through System.Text.Json (<see cref="GrainsOptions.JsonSerializerOptions"/>);
/// protobuf messages through Google.Protobuf's JSON formatter and parser, so stored state stays readable either way.
/// </summary>
public sealed class JsonGrainStateSerializer(IOptions<GrainsOptions> options) : IGrainStateSerializer
{
    private readonly JsonSerializerOptions json = options.Value.JsonSerializerOptions;

    public byte[] Serialize<T>(T value)
    {
        if (value is IMessage message) return Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(message));
        return JsonSerializer.SerializeToUtf8Bytes(value, json);
    }

    public T Deserialize<T>(ReadOnlySpan<byte> data)
    {
        if (ProtobufType<T>.Descriptor is { } descriptor)
            return (T)JsonParser.Default.Parse(Encoding.UTF8.GetString(data), descriptor);
        return JsonSerializer.Deserialize<T>(data, json)
            ?? throw new InvalidOperationException($"Stored state of type {typeof(T).Name} is JSON null.");
    }

    private static class ProtobufType<T>
    {
        public static readonly MessageDescriptor? Descriptor = typeof(IMessage).IsAssignableFrom(typeof(T))
            ? ((IMessage)Activator.CreateInstance(typeof(T))!).Descriptor
            : null;
    }
}
