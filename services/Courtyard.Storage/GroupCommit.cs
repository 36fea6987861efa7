using System.Threading.Channels;

namespace Courtyard.Storage;

/// <summary>
/// A write waiting in a <see cref="GroupCommitQueue{TOperation}"/>. A writer records its outcome while applying the
/// batch and publishes it to the caller only after the batch's transaction committed.
/// </summary>
internal abstract class PendingOperation
{
    private const int Queued = 0, Taken = 1, Cancelled = 2;
    private int state;
    private CancellationTokenRegistration cancellation;

    /// <summary>Claims the operation for a batch; false when its caller cancelled it while it waited.</summary>
    internal bool TryTake()
    {
        if (Interlocked.CompareExchange(ref state, Taken, Queued) != Queued) return false;
        cancellation.Dispose();
        return true;
    }

    // Only a write still waiting can be cancelled: once in a batch its outcome is decided by the database.
    internal void WatchCancellation(CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled) return;
        cancellation = cancellationToken.Register(static (target, token) =>
        {
            var operation = (PendingOperation)target!;
            if (Interlocked.CompareExchange(ref operation.state, Cancelled, Queued) == Queued) operation.Cancel(token);
        }, this);
    }

    /// <summary>Completes the caller's task with the outcome recorded during the batch.</summary>
    internal abstract void Publish();

    /// <summary>Completes the caller's task with an error that hit the whole batch.</summary>
    internal abstract void Fail(Exception error);

    private protected abstract void Cancel(CancellationToken token);
}

/// <summary>The caller's side of a pending operation: the outcome recorded during a batch, published after commit.</summary>
internal sealed class Outcome<TResult>
{
    private readonly TaskCompletionSource<TResult> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TResult? result;
    private Exception? error;

    public Task<TResult> Task => completion.Task;

    public bool HasError => error is not null;

    public Exception? Error => error;

    public void Succeed(TResult value)
    {
        result = value;
        error = null;
    }

    public void Reject(Exception exception)
    {
        result = default;
        error = exception;
    }

    public void Publish()
    {
        if (error is not null) completion.TrySetException(error);
        else completion.TrySetResult(result!);
    }

    public void Fail(Exception exception) => completion.TrySetException(exception);

    public void Cancel(CancellationToken token) => completion.TrySetCanceled(token);
}

/// <summary>
/// Group commit: callers enqueue writes; each writer loop takes everything pending (up to a maximum batch), hands it to
/// <c>commitBatch</c> (one transaction, outcomes recorded per operation) and only then completes the callers' tasks.
/// The more writers wait, the more one fsync serves, so throughput grows with load.
/// With several writer loops, each operation goes to the loop of its partition (e.g. its key), so writes to one key
/// stay in arrival order and two loops never touch the same row.
/// The queue is bounded: when it is full, callers wait for room (back-pressure) instead of queueing without limit.
/// </summary>
internal sealed class GroupCommitQueue<TOperation> : IAsyncDisposable where TOperation : PendingOperation
{
    private readonly Channel<TOperation>[] channels;
    private readonly Func<List<TOperation>, Task> commitBatch;
    private readonly Func<TOperation, int>? partitionOf;
    private readonly int maxBatchSize;
    private readonly Task[] writers;
    private int queued;

    /// <param name="commitBatch">Applies the batch in one transaction and records each operation's outcome. It throws
    /// only when no outcome could be determined; then every operation of the batch fails with that error.</param>
    /// <param name="capacity">Operations waiting per writer loop before callers have to wait for room.</param>
    /// <param name="partitionOf">With several writers: a hash choosing the operation's writer.</param>
    public GroupCommitQueue(Func<List<TOperation>, Task> commitBatch, int maxBatchSize, int capacity, int writerCount = 1, Func<TOperation, int>? partitionOf = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(writerCount, 1);
        if (writerCount > 1) ArgumentNullException.ThrowIfNull(partitionOf);
        this.commitBatch = commitBatch;
        this.partitionOf = partitionOf;
        this.maxBatchSize = maxBatchSize;
        channels = Enumerable.Range(0, writerCount)
            .Select(_ => Channel.CreateBounded<TOperation>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait }))
            .ToArray();
        writers = channels.Select(channel => Task.Run(() => WriterLoopAsync(channel.Reader))).ToArray();
    }

    /// <summary>Operations accepted and not yet taken into a batch (never more than capacity × writers).</summary>
    internal int QueuedCount => Volatile.Read(ref queued);

    /// <summary>Queues the operation, waiting for room while the queue is full. Its outcome arrives through the operation.</summary>
    public void Enqueue(TOperation operation, CancellationToken cancellationToken)
    {
        operation.WatchCancellation(cancellationToken);
        var channel = channels.Length == 1 ? channels[0] : channels[(int)((uint)partitionOf!(operation) % (uint)channels.Length)];
        if (channel.Writer.TryWrite(operation))
        {
            Interlocked.Increment(ref queued);
            return;
        }
        _ = WaitForRoomAsync(channel.Writer, operation, cancellationToken);
    }

    private async Task WaitForRoomAsync(ChannelWriter<TOperation> writer, TOperation operation, CancellationToken cancellationToken)
    {
        try
        {
            await writer.WriteAsync(operation, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref queued);
        }
        catch (OperationCanceledException)
        {
            // The cancellation callback has already completed the caller's task as cancelled.
        }
        catch (ChannelClosedException)
        {
            operation.Fail(new ObjectDisposedException(nameof(IStorageProvider), "The storage provider is closed."));
        }
    }

    private async Task WriterLoopAsync(ChannelReader<TOperation> reader)
    {
        var batch = new List<TOperation>(maxBatchSize);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < maxBatchSize && reader.TryRead(out var operation))
            {
                Interlocked.Decrement(ref queued);
                if (operation.TryTake()) batch.Add(operation);
            }
            if (batch.Count == 0) continue;
            try
            {
                await commitBatch(batch).ConfigureAwait(false);
                foreach (var operation in batch) operation.Publish();
            }
            catch (Exception error)
            {
                foreach (var operation in batch) operation.Fail(error);
            }
        }
    }

    /// <summary>Stops accepting writes, lets the writers finish everything already queued.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var channel in channels) channel.Writer.TryComplete();
        await Task.WhenAll(writers).ConfigureAwait(false);
    }
}

/// <summary>Completes a task each time outbox rows commit; see <see cref="IOutboxStore.NextCommit"/>.</summary>
internal sealed class OutboxCommitSignal
{
    private TaskCompletionSource next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Next => Volatile.Read(ref next).Task;

    public void Raise() =>
        Interlocked.Exchange(ref next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}

/// <summary>Timestamps as both providers keep them: UTC, whole microseconds (PostgreSQL's precision).</summary>
internal static class StorageTime
{
    private const long TicksPerMicrosecond = 10;

    public static DateTimeOffset Normalize(DateTimeOffset time)
    {
        var ticks = time.UtcTicks;
        return new DateTimeOffset(ticks - ticks % TicksPerMicrosecond, TimeSpan.Zero);
    }

    public static long ToUnixMicroseconds(DateTimeOffset time) => (Normalize(time).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TicksPerMicrosecond;

    public static DateTimeOffset FromUnixMicroseconds(long microseconds) => DateTimeOffset.UnixEpoch.AddTicks(microseconds * TicksPerMicrosecond);

    public static long NowUnixMicroseconds() => ToUnixMicroseconds(DateTimeOffset.UtcNow);

    public static TimeSpan Normalize(TimeSpan span) => TimeSpan.FromTicks(span.Ticks - span.Ticks % TicksPerMicrosecond);
}
