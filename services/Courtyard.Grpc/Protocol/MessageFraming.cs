using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Courtyard.Grpc.Protocol;

/// <summary>How the receiving side of a call reads messages: its size limit and the sender's grpc-encoding.</summary>
internal readonly record struct FrameReadSettings(int MaxMessageSize, bool GzipEncoded, bool IsServer)
{
    public string Role => IsServer ? "request" : "response";
}

/// <summary>
/// Length-prefixed messages: 1 byte compressed flag, 4 bytes big-endian length, then the message.
/// Shared by server (request bodies) and client (response bodies) so both enforce the same rules.
/// </summary>
internal static class MessageFraming
{
    /// <summary>Reads the next message, or null at a clean end of the body. Protocol violations throw <see cref="RpcException"/>.</summary>
    public static async ValueTask<T?> ReadMessageAsync<T>(PipeReader reader, MessageParser<T> parser, FrameReadSettings settings, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                throw new OperationCanceledException(cancellationToken);
            }
            if (buffer.Length >= GrpcProtocol.FrameHeaderSize)
            {
                int length;
                bool compressed;
                try
                {
                    (compressed, length) = ReadHeader(buffer, settings);
                }
                catch
                {
                    reader.AdvanceTo(buffer.Start);
                    throw;
                }
                long frameLength = GrpcProtocol.FrameHeaderSize + (long)length;
                if (buffer.Length >= frameLength)
                {
                    var payload = buffer.Slice(GrpcProtocol.FrameHeaderSize, length);
                    try
                    {
                        return compressed ? ParseCompressed(payload, parser, settings) : Parse(payload, parser, settings);
                    }
                    finally
                    {
                        reader.AdvanceTo(buffer.GetPosition(frameLength));
                    }
                }
            }
            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                if (buffer.Length == 0)
                {
                    return null;
                }
                throw new RpcException(new Status(StatusCode.Internal,
                    $"Incomplete message: the {settings.Role} body ended inside a message ({buffer.Length} bytes of a frame received)."));
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static (bool Compressed, int Length) ReadHeader(ReadOnlySequence<byte> buffer, FrameReadSettings settings)
    {
        Span<byte> header = stackalloc byte[GrpcProtocol.FrameHeaderSize];
        buffer.Slice(0, GrpcProtocol.FrameHeaderSize).CopyTo(header);
        byte flag = header[0];
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (flag > 1)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"Invalid compressed flag {flag} on a {settings.Role} message (must be 0 or 1)."));
        }
        if (length > (uint)settings.MaxMessageSize)
        {
            // Checked on the prefix, before any of the body is buffered.
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"Received message larger than max ({length} vs. {settings.MaxMessageSize})"));
        }
        if (flag == 1 && !settings.GzipEncoded)
        {
            throw new RpcException(new Status(StatusCode.Internal,
                $"Received a compressed {settings.Role} message but the {settings.Role} has no grpc-encoding."));
        }
        return (flag == 1, (int)length);
    }

    private static T Parse<T>(ReadOnlySequence<byte> payload, MessageParser<T> parser, FrameReadSettings settings)
        where T : class, IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Error deserializing " + settings.Role));
        }
    }

    private static T ParseCompressed<T>(ReadOnlySequence<byte> payload, MessageParser<T> parser, FrameReadSettings settings)
        where T : class, IMessage<T>
    {
        int compressedLength = (int)payload.Length;
        byte[] compressed = ArrayPool<byte>.Shared.Rent(Math.Max(compressedLength, 1));
        byte[] output = ArrayPool<byte>.Shared.Rent(Math.Clamp(compressedLength * 4, 4096, settings.MaxMessageSize + 1));
        try
        {
            payload.CopyTo(compressed);
            int total = 0;
            using (var gzip = new GZipStream(new MemoryStream(compressed, 0, compressedLength, writable: false), CompressionMode.Decompress))
            {
                while (true)
                {
                    if (total == output.Length)
                    {
                        byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)settings.MaxMessageSize + 1, total * 2L));
                        output.AsSpan(0, total).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(output);
                        output = larger;
                    }
                    int read;
                    try
                    {
                        read = gzip.Read(output, total, output.Length - total);
                    }
                    catch (InvalidDataException)
                    {
                        throw new RpcException(new Status(StatusCode.Internal, $"Error decompressing {settings.Role} message (invalid gzip data)."));
                    }
                    if (read == 0)
                    {
                        break;
                    }
                    total += read;
                    if (total > settings.MaxMessageSize)
                    {
                        break;
                    }
                }
            }
            if (total > settings.MaxMessageSize)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"Received message after decompression larger than max ({settings.MaxMessageSize})"));
            }
            return Parse(new ReadOnlySequence<byte>(output, 0, total), parser, settings);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    /// <summary>Writes one framed message; gzip-compresses it when asked. Oversized messages throw RESOURCE_EXHAUSTED.</summary>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message, bool gzip, int? maxSendMessageSize)
    {
        int size = message.CalculateSize();
        if (maxSendMessageSize is int max && size > max)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"Sending message larger than max ({size} vs. {max})"));
        }
        // An empty message is sent uncompressed: gzip of nothing is no bytes at all, which some peers fail to "decompress".
        if (!gzip || size == 0)
        {
            var span = writer.GetSpan(GrpcProtocol.FrameHeaderSize + size);
            span[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
            message.WriteTo(span.Slice(GrpcProtocol.FrameHeaderSize, size));
            writer.Advance(GrpcProtocol.FrameHeaderSize + size);
            return;
        }
        byte[] serialized = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        try
        {
            message.WriteTo(serialized.AsSpan(0, size));
            using var compressed = new MemoryStream();
            using (var gzipStream = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzipStream.Write(serialized, 0, size);
            }
            int compressedLength = (int)compressed.Length;
            var span = writer.GetSpan(GrpcProtocol.FrameHeaderSize + compressedLength);
            span[0] = 1;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)compressedLength);
            compressed.GetBuffer().AsSpan(0, compressedLength).CopyTo(span[GrpcProtocol.FrameHeaderSize..]);
            writer.Advance(GrpcProtocol.FrameHeaderSize + compressedLength);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(serialized);
        }
    }
}

/// <summary>An <see cref="IBufferWriter{T}"/> over pooled arrays (the client frames messages into it before writing to the HTTP stream).</summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter(int initialCapacity = 256) => _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public int WrittenCount => _written;

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Clear() => _written = 0;

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Ensure(int sizeHint)
    {
        int needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }
        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
        _buffer = larger;
    }
}
