using System.Threading.Channels;

namespace Courtyard.Events.Transports;

/// <summary>
/// Runs deliveries of one consumer on N lanes, a courtyard always on the same lane: events of a courtyard are handled
/// one at a time in arrival order, different courtyards in parallel. A delivery answered Retry is redelivered on its
/// lane after a backoff, holding the lane (so later events of the courtyard wait behind it).
/// </summary>
internal sealed class CourtyardLanes<TDelivery> : IAsyncDisposable where TDelivery : class
{
    private readonly Channel<TDelivery>[] lanes;
    private readonly Task[] workers;
    private readonly CancellationTokenSource stop = new();
    private readonly Func<TDelivery, int, CancellationToken, Task<DeliveryResult>> deliver;
    private readonly Func<TDelivery, DeliveryResult, Task> settle;
    private readonly Action<TDelivery> abandon;
    private readonly Backoff redeliveryBackoff;

    /// <param name="deliver">Runs one delivery attempt (1-based).</param>
    /// <param name="settle">Called once with the final Success or Drop.</param>
    /// <param name="abandon">Called for deliveries still queued or running when the lanes stop.</param>
    public CourtyardLanes(int laneCount, Backoff redeliveryBackoff,
        Func<TDelivery, int, CancellationToken, Task<DeliveryResult>> deliver,
        Func<TDelivery, DeliveryResult, Task> settle,
        Action<TDelivery> abandon)
    {
        this.deliver = deliver;
        this.settle = settle;
        this.abandon = abandon;
        this.redeliveryBackoff = redeliveryBackoff;
        lanes = new Channel<TDelivery>[Math.Max(1, laneCount)];
        workers = new Task[lanes.Length];
        for (var i = 0; i < lanes.Length; i++)
        {
            lanes[i] = Channel.CreateUnbounded<TDelivery>(new UnboundedChannelOptions { SingleReader = true });
            var lane = lanes[i];
            workers[i] = Task.Run(() => RunLaneAsync(lane));
        }
    }

    public void Enqueue(string courtyardId, TDelivery delivery)
    {
        var lane = lanes[(int)((uint)StringComparer.Ordinal.GetHashCode(courtyardId) % (uint)lanes.Length)];
        if (!lane.Writer.TryWrite(delivery))
        {
            abandon(delivery);
        }
    }

    private async Task RunLaneAsync(Channel<TDelivery> lane)
    {
        var token = stop.Token;
        try
        {
            await foreach (var delivery in lane.Reader.ReadAllAsync(token))
            {
                var attempt = 1;
                while (true)
                {
                    DeliveryResult result;
                    try
                    {
                        result = await deliver(delivery, attempt, token);
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        abandon(delivery);
                        return;
                    }
                    catch
                    {
                        result = DeliveryResult.Retry;
                    }
                    if (result != DeliveryResult.Retry)
                    {
                        await settle(delivery, result);
                        break;
                    }
                    try
                    {
                        await Task.Delay(redeliveryBackoff.Delay(attempt), token);
                    }
                    catch (OperationCanceledException)
                    {
                        abandon(delivery);
                        return;
                    }
                    attempt++;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lane in lanes)
        {
            lane.Writer.TryComplete();
        }
        await stop.CancelAsync();
        await Task.WhenAll(workers).ContinueWith(_ => { }, TaskScheduler.Default);
        foreach (var lane in lanes)
        {
            while (lane.Reader.TryRead(out var delivery))
            {
                abandon(delivery);
            }
        }
        stop.Dispose();
    }
}
