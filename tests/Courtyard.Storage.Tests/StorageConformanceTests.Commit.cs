using Courtyard.Storage.Postgres;
using Courtyard.Storage.Sqlite;

namespace Courtyard.Storage.Tests;

/// <summary>When a write is acknowledged, how the queue holds back callers, and the outbox commit signal.</summary>
public abstract partial class StorageConformanceTests
{
    /// <summary>Blocks every batch commit (on the writer) until released.</summary>
    private sealed class CommitGate
    {
        private readonly TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => entered.Task;

        public void Release() => release.TrySetResult();

        public Task WaitAsync()
        {
            entered.TrySetResult();
            return release.Task;
        }
    }

    private async Task ReopenWithAsync(StorageOptions options)
    {
        await Storage.DisposeAsync();
        Storage = await OpenAsync(options);
    }

    private static int QueuedWrites(IStorageProvider storage) => storage switch
    {
        SqliteStorageProvider sqlite => sqlite.QueuedWrites,
        PostgresStorageProvider postgres => postgres.QueuedWrites,
        _ => throw new NotSupportedException(storage.GetType().Name),
    };

    [Fact]
    public async Task A_write_is_not_acknowledged_while_its_batch_is_still_committing()
    {
        var gate = new CommitGate();
        await ReopenWithAsync(new StorageOptions { BeforeCommitCompletes = gate.WaitAsync });

        var write = Storage.State.WriteAsync(Write("k", "v1", 0, Event("e")));
        try
        {
            await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(200);

            Assert.False(write.IsCompleted, "the write was acknowledged before its transaction committed");
        }
        finally
        {
            gate.Release();
        }
        Assert.Equal(1, (await write.WaitAsync(TimeSpan.FromSeconds(30))).NewVersion);
    }

    [Fact]
    public async Task When_writers_outrun_the_disk_the_queue_holds_at_most_its_capacity_and_the_rest_wait()
    {
        var gate = new CommitGate();
        await ReopenWithAsync(new StorageOptions { BeforeCommitCompletes = gate.WaitAsync, MaxBatchSize = 4, MaxQueuedWrites = 16 });

        var writes = Enumerable.Range(0, 300).Select(i => Storage.State.WriteAsync(Write("k" + i, "v", 0))).ToArray();
        try
        {
            await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(200);

            Assert.InRange(QueuedWrites(Storage), 0, 16 * 2);   // two writer loops at most (PostgreSQL, 2 loops)
            Assert.DoesNotContain(writes, w => w.IsCompleted);
        }
        finally
        {
            gate.Release();
        }
        Assert.All(await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(60)), result => Assert.Equal(1, result.NewVersion));
    }

    [Fact]
    public async Task Committing_outbox_rows_completes_the_signal_whichever_path_wrote_them_and_nothing_else_does()
    {
        async Task<bool> Signals(Func<Task> write)
        {
            var next = Storage.Outbox.NextCommit();
            await write();
            return await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(2))) == next;
        }

        Assert.False(await Signals(() => Storage.State.WriteAsync(Write("plain", "v", 0))));
        Assert.True(await Signals(() => Storage.State.WriteAsync(Write("k", "v", 0, Event("state write")))));
        Assert.True(await Signals(() => Storage.Outbox.AppendAsync([Event("standalone")])));
        Assert.True(await Signals(() => Storage.Journal.AppendAsync(new JournalAppend { Stream = "s", ExpectedVersion = 0, Events = [[1]], Outbox = [Event("journal")] })));
        Assert.False(await Signals(() => Storage.Journal.AppendAsync(new JournalAppend { Stream = "s", ExpectedVersion = 1, Events = [[2]] })));
    }
}
