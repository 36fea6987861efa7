using Orleans.Storage;

namespace Courtyard.Storage.Tests;

/// <summary>The journal that JournaledGrains append to: events, outbox rows and inbox mark in one transaction; snapshots.</summary>
public abstract partial class StorageConformanceTests
{
    private static byte[][] Events(params int[] values) => values.Select(v => BitConverter.GetBytes(v)).ToArray();

    private static int[] Values(IEnumerable<byte[]> events) => events.Select(e => BitConverter.ToInt32(e)).ToArray();

    [Fact]
    public async Task A_journal_append_stores_its_events_outbox_rows_and_inbox_mark_together_at_the_next_versions()
    {
        var mark = new InboxMark("councils", "directory", "resident-joined-1");
        var first = await Storage.Journal.AppendAsync(new JournalAppend { Stream = "ballots/1", ExpectedVersion = 0, Events = Events(1, 2) });
        var second = await Storage.Journal.AppendAsync(new JournalAppend
        {
            Stream = "ballots/1", ExpectedVersion = 2, Events = Events(3), Outbox = [Event("ballot cast", "courtyard-7")], Consumes = mark,
        });

        Assert.Equal((WriteOutcome.Committed, 2L), (first.Outcome, first.NewVersion));
        Assert.Equal((WriteOutcome.Committed, 3L), (second.Outcome, second.NewVersion));
        var stream = await Storage.Journal.ReadAsync("ballots/1");
        Assert.Equal((3L, 0L), (stream!.Version, stream.SnapshotVersion));
        Assert.Null(stream.Snapshot);
        Assert.Equal([1, 2, 3], Values(stream.Events));
        var row = Assert.Single(await AllUnsentAsync());
        Assert.Equal((second.OutboxIds.Single(), "ballot cast"), (row.Id, row.Payload));
        Assert.True(await Storage.Inbox.ContainsAsync(mark));
        Assert.Null(await Storage.Journal.ReadAsync("ballots/2"));
    }

    [Fact]
    public async Task Reading_a_journals_rows_pages_through_every_stored_event_in_version_order_snapshots_or_not()
    {
        await Storage.Journal.AppendAsync(new JournalAppend { Stream = "audit/1", ExpectedVersion = 0, Events = Events(1, 2, 3) });
        await Storage.Journal.AppendAsync(new JournalAppend { Stream = "audit/1", ExpectedVersion = 3, Events = Events(4, 5), Snapshot = [42] });
        await Storage.Journal.AppendAsync(new JournalAppend { Stream = "audit/2", ExpectedVersion = 0, Events = Events(99) });

        var first = await Storage.Journal.ReadEventsAsync("audit/1", afterVersion: 0, max: 2);
        var rest = await Storage.Journal.ReadEventsAsync("audit/1", afterVersion: first[^1].Version, max: 10);

        Assert.Equal([1L, 2L], first.Select(row => row.Version));
        Assert.Equal([3L, 4L, 5L], rest.Select(row => row.Version));
        Assert.Equal([1, 2, 3, 4, 5], Values(first.Concat(rest).Select(row => row.Data)));
        Assert.Empty(await Storage.Journal.ReadEventsAsync("audit/1", afterVersion: 5, max: 10));
        Assert.Empty(await Storage.Journal.ReadEventsAsync("audit/3", afterVersion: 0, max: 10));
    }

    [Fact]
    public async Task A_journal_append_at_a_stale_version_conflicts_and_writes_nothing()
    {
        var mark = new InboxMark("councils", "directory", "e-1");
        await Storage.Journal.AppendAsync(new JournalAppend { Stream = "s", ExpectedVersion = 0, Events = Events(1, 2) });

        foreach (var expected in new long[] { 0, 1, 3 })
        {
            var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.Journal.AppendAsync(new JournalAppend
            {
                Stream = "s", ExpectedVersion = expected, Events = Events(99), Outbox = [Event("lost")], Consumes = mark,
            }));
            Assert.Equal("2", conflict.StoredEtag);
        }

        Assert.Equal(new[] { 1, 2 }, Values((await Storage.Journal.ReadAsync("s"))!.Events));
        Assert.Empty(await AllUnsentAsync());
        Assert.False(await Storage.Inbox.ContainsAsync(mark));
    }

    [Fact]
    public async Task A_journal_append_consuming_an_event_handled_before_writes_nothing()
    {
        var mark = new InboxMark("councils", "directory", "e-2");
        await Storage.Journal.AppendAsync(new JournalAppend { Stream = "a", ExpectedVersion = 0, Events = Events(1), Consumes = mark });

        var again = await Storage.Journal.AppendAsync(new JournalAppend
        {
            Stream = "a", ExpectedVersion = 1, Events = Events(2), Outbox = [Event("duplicate effect")], Consumes = mark,
        });
        var elsewhere = await Storage.Journal.AppendAsync(new JournalAppend { Stream = "b", ExpectedVersion = 0, Events = Events(3), Consumes = mark });

        Assert.Equal((WriteOutcome.AlreadyConsumed, WriteOutcome.AlreadyConsumed), (again.Outcome, elsewhere.Outcome));
        Assert.Equal(new[] { 1 }, Values((await Storage.Journal.ReadAsync("a"))!.Events));
        Assert.Null(await Storage.Journal.ReadAsync("b"));
        Assert.Empty(await AllUnsentAsync());
    }

    [Fact]
    public async Task Reading_a_journal_returns_its_latest_snapshot_and_only_the_events_after_it()
    {
        long version = 0;
        for (var i = 1; i <= 25; i++)
        {
            // The state at version v is "the sum of events 1..v"; every 10 events the append carries the state before it.
            var snapshot = version > 0 && version % 10 == 0 ? BitConverter.GetBytes((int)(version * (version + 1) / 2)) : null;
            version = (await Storage.Journal.AppendAsync(new JournalAppend { Stream = "s", ExpectedVersion = version, Events = Events(i), Snapshot = snapshot })).NewVersion;
        }

        var stream = await Storage.Journal.ReadAsync("s");

        Assert.Equal((25L, 20L), (stream!.Version, stream.SnapshotVersion));
        Assert.Equal(210, BitConverter.ToInt32(stream.Snapshot));
        Assert.Equal([21, 22, 23, 24, 25], Values(stream.Events));
    }

    [Fact]
    public async Task The_stream_remembers_its_last_batch_so_an_append_whose_outcome_was_unknown_can_be_recognised()
    {
        var batch = Guid.NewGuid();
        await Storage.Journal.AppendAsync(new JournalAppend { Stream = "s", ExpectedVersion = 0, Events = Events(1) });
        await Storage.Journal.AppendAsync(new JournalAppend { Stream = "s", ExpectedVersion = 1, Events = Events(2, 3), BatchId = batch });

        // The same append again (a retry after a lost reply) conflicts, and the head shows it was committed.
        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            Storage.Journal.AppendAsync(new JournalAppend { Stream = "s", ExpectedVersion = 1, Events = Events(2, 3), BatchId = batch }));
        var stream = await Storage.Journal.ReadAsync("s");
        Assert.Equal((batch, 3L), (stream!.LastBatch, stream.Version));
        Assert.Equal([1, 2, 3], Values(stream.Events));
    }
}
