using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Courtyard.Grains;

internal interface IGrainObserverSet
{
    int SubscriberCount { get; }
    void CompleteAll();
}

/// <summary>
/// Pushes a grain's changes (e.g. live vote tallies) to in-process subscribers such as gRPC server-streaming handlers.
/// Each subscriber has a bounded buffer; when it is full the OLDEST pending event is dropped, so a slow subscriber
/// skips intermediate values but always gets the latest. Cancelling the subscription token (or disposing the
/// enumerator) removes the subscriber. While subscribers exist the activation is not idle-collected; when it is
/// deactivated every subscription completes (the enumeration ends) and the subscriber may subscribe again.
/// </summary>
public sealed class GrainObservers<TEvent> : IGrainObserverSet
{
    private readonly int capacity;
    private readonly Lock gate = new();
    private Channel<TEvent>[] subscribers = [];

    public GrainObservers(int capacity = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        this.capacity = capacity;
    }

    public int SubscriberCount => Volatile.Read(ref subscribers).Length;

    /// <summary>
    /// Subscribes now (events published from this moment are buffered) and returns the stream of events. Call it from
    /// a grain method and pass a token that is cancelled when the subscriber leaves (the gRPC call's token).
    /// </summary>
    public IAsyncEnumerable<TEvent> Subscribe(CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<TEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = false,
        });
        lock (gate) subscribers = [.. subscribers, channel];
        WorkItem.Current?.Activation?.AddObserverSet(this);
        var registration = cancellationToken.Register(static state =>
        {
            var (set, ch) = ((GrainObservers<TEvent>, Channel<TEvent>))state!;
            set.Remove(ch);
        }, (this, channel));
        return ReadAsync(channel, registration, cancellationToken);
    }

    /// <summary>Sends an event to every subscriber (never blocks).</summary>
    public void Publish(TEvent change)
    {
        foreach (var channel in Volatile.Read(ref subscribers)) channel.Writer.TryWrite(change);
    }

    /// <summary>Ends every subscription (also done when the activation is deactivated).</summary>
    public void CompleteAll()
    {
        Channel<TEvent>[] ended;
        lock (gate)
        {
            ended = subscribers;
            subscribers = [];
        }
        foreach (var channel in ended) channel.Writer.TryComplete();
    }

    private void Remove(Channel<TEvent> channel)
    {
        lock (gate)
        {
            var index = Array.IndexOf(subscribers, channel);
            if (index < 0) return;
            subscribers = [.. subscribers[..index], .. subscribers[(index + 1)..]];
        }
        channel.Writer.TryComplete();
    }

    private async IAsyncEnumerable<TEvent> ReadAsync(Channel<TEvent> channel, CancellationTokenRegistration registration,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            var reader = channel.Reader;
            while (true)
            {
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    yield break;
                }
                if (!more) yield break;
                while (reader.TryRead(out var change)) yield return change;
            }
        }
        finally
        {
            await registration.DisposeAsync();
            Remove(channel);
        }
    }
}
