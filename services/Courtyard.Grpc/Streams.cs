using System.Runtime.CompilerServices;

namespace Courtyard.Grpc;

/// <summary>Reads a stream of messages (requests on the server, responses on the client), one at a time.</summary>
public interface IAsyncStreamReader<out T> : IAsyncEnumerable<T>
{
    /// <summary>The message that the last successful <see cref="MoveNext"/> read.</summary>
    T Current { get; }

    /// <summary>Reads the next message; false at the end of the stream. Throws <see cref="RpcException"/> when the call failed.</summary>
    Task<bool> MoveNext(CancellationToken cancellationToken = default);
}

/// <summary>Writes a stream of messages. Not thread-safe: await each write before the next.</summary>
public interface IAsyncStreamWriter<in T>
{
    Task WriteAsync(T message);
}

/// <summary>The server's response stream. Each message is flushed to the client as it is written.</summary>
public interface IServerStreamWriter<in T> : IAsyncStreamWriter<T>
{
}

/// <summary>The client's request stream. Call <see cref="CompleteAsync"/> when done (half-close).</summary>
public interface IClientStreamWriter<in T> : IAsyncStreamWriter<T>
{
    Task CompleteAsync();
}

public static class AsyncStreamReaderExtensions
{
    /// <summary>Reads every message until the end of the stream.</summary>
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(this IAsyncStreamReader<T> reader, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.Current;
        }
    }
}
