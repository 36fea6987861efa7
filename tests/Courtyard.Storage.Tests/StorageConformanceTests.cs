using System.Text;
using Courtyard.Testing;
using Orleans.Storage;

namespace Courtyard.Storage.Tests;

/// <summary>
/// What every storage provider promises (see services/Courtyard.Storage/Abstractions.cs and README.md). Each provider
/// runs this suite through a subclass that opens a fresh database per test.
/// </summary>
public abstract partial class StorageConformanceTests : IAsyncLifetime
{
    private const string Type = "Councils.Proposal";

    protected IStorageProvider Storage { get; set; } = null!;

    /// <summary>Opens the test's database (the same one again on a second call: a restart).</summary>
    protected Task<IStorageProvider> OpenAsync() => OpenAsync(new StorageOptions());

    /// <summary>Opens the test's database with these options.</summary>
    protected abstract Task<IStorageProvider> OpenAsync(StorageOptions options);

    /// <summary>Removes the test's database.</summary>
    protected abstract Task DeleteDatabaseAsync();

    /// <summary>Arguments for the worker: provider name and the test database's path or connection string.</summary>
    protected abstract string[] WorkerTarget { get; }

    public async Task InitializeAsync() => Storage = await OpenAsync();

    public async Task DisposeAsync()
    {
        await Storage.DisposeAsync();
        await DeleteDatabaseAsync();
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static StateWrite Write(string key, string? data, long expectedVersion, params OutboxMessage[] outbox) => new()
    {
        StateType = Type,
        Key = key,
        Data = data is null ? null : Bytes(data),
        ExpectedVersion = expectedVersion,
        Outbox = outbox,
    };

    private static OutboxMessage Event(string payload, string partition = "courtyard-1") =>
        new(partition, "councils", "courtyard.councils.proposal_passed.v1", payload, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

    private async Task<IReadOnlyList<OutboxRecord>> AllUnsentAsync() => await Storage.Outbox.ReadUnsentAsync(100_000);

    [Fact]
    public async Task A_missing_state_reads_as_null_and_its_first_write_expects_0_and_yields_version_1()
    {
        Assert.Null(await Storage.State.ReadAsync(Type, "courtyard-1"));

        var result = await Storage.State.WriteAsync(Write("courtyard-1", "first", 0));

        Assert.Equal(WriteOutcome.Committed, result.Outcome);
        Assert.Equal(1, result.NewVersion);
        Assert.Empty(result.OutboxIds);
        var stored = await Storage.State.ReadAsync(Type, "courtyard-1");
        Assert.NotNull(stored);
        Assert.Equal(new StoredState(Type, "courtyard-1", stored.Data, 1), stored);
        Assert.Equal("first", Encoding.UTF8.GetString(stored.Data!));
    }

    [Fact]
    public async Task Writing_with_the_current_version_replaces_the_state_and_increments_the_version()
    {
        await Storage.State.WriteAsync(Write("k", "v1", 0));
        var second = await Storage.State.WriteAsync(Write("k", "v2", 1));
        var third = await Storage.State.WriteAsync(Write("k", "v3", 2));

        Assert.Equal(2, second.NewVersion);
        Assert.Equal(3, third.NewVersion);
        var stored = await Storage.State.ReadAsync(Type, "k");
        Assert.Equal("v3", Encoding.UTF8.GetString(stored!.Data!));
        Assert.Equal(3, stored.Version);
        Assert.Null(await Storage.State.ReadAsync("Other.Type", "k"));
    }

    [Fact]
    public async Task A_stale_version_conflicts_and_changes_nothing()
    {
        await Storage.State.WriteAsync(Write("k", "v1", 0));
        await Storage.State.WriteAsync(Write("k", "v2", 1));

        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("k", "stale", 1, Event("lost"))));

        // One concept, one name: Orleans' own exception, with the versions as ETags.
        Assert.Equal(("2", "1"), (conflict.StoredEtag, conflict.CurrentEtag));
        Assert.Contains($"{Type}/k", conflict.Message);
        var stored = await Storage.State.ReadAsync(Type, "k");
        Assert.Equal(("v2", 2L), (Encoding.UTF8.GetString(stored!.Data!), stored.Version));
        Assert.Empty(await AllUnsentAsync());
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("k", "future", 7)));
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("never-written", "x", 1)));
        Assert.Null(await Storage.State.ReadAsync(Type, "never-written"));
    }

    [Fact]
    public async Task Inserting_a_state_that_already_exists_conflicts()
    {
        await Storage.State.WriteAsync(Write("k", "original", 0));

        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("k", "duplicate", 0)));

        Assert.Equal("1", conflict.StoredEtag);
        Assert.Equal("original", Encoding.UTF8.GetString((await Storage.State.ReadAsync(Type, "k"))!.Data!));
    }

    [Fact]
    public async Task Clearing_keeps_a_tombstone_whose_version_only_increases_so_a_writer_from_before_the_clear_conflicts()
    {
        await Storage.State.WriteAsync(Write("k", "v1", 0));   // a stale writer reads version 1 here
        await Storage.State.WriteAsync(Write("k", "v2", 1));

        var cleared = await Storage.State.WriteAsync(Write("k", null, 2, Event("cleared")));

        Assert.Equal(3, cleared.NewVersion);
        Assert.Equal(new StoredState(Type, "k", null, 3), await Storage.State.ReadAsync(Type, "k"));
        Assert.Single(await AllUnsentAsync());
        // Starting over at version 1 would let the stale writer, still holding 1, overwrite the new state later.
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("k", "reborn at 1", 0)));
        var reborn = await Storage.State.WriteAsync(Write("k", "again", 3));
        Assert.Equal(4, reborn.NewVersion);
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("k", "stale", 1)));
        var stored = await Storage.State.ReadAsync(Type, "k");
        Assert.Equal(("again", 4L), (Encoding.UTF8.GetString(stored!.Data!), stored.Version));
    }

    [Fact]
    public async Task Clearing_with_a_stale_version_conflicts_and_keeps_the_state()
    {
        await Storage.State.WriteAsync(Write("k", "v1", 0));
        await Storage.State.WriteAsync(Write("k", "v2", 1));

        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("k", null, 1)));
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("k", null, 0)));
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("k", null, 3)));

        Assert.Equal(2, (await Storage.State.ReadAsync(Type, "k"))!.Version);
        // Clearing a state that was never written, expecting none, is a no-op that succeeds.
        Assert.Equal(0, (await Storage.State.WriteAsync(Write("absent", null, 0))).NewVersion);
        Assert.Null(await Storage.State.ReadAsync(Type, "absent"));
    }

    [Fact]
    public async Task Concurrent_read_modify_write_on_one_key_with_retry_loses_no_increment()
    {
        const int writers = 16, incrementsEach = 20;

        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            for (var done = 0; done < incrementsEach;)
            {
                var current = await Storage.State.ReadAsync(Type, "counter");
                var value = current is null ? 0 : int.Parse(Encoding.UTF8.GetString(current.Data!));
                try
                {
                    await Storage.State.WriteAsync(Write("counter", (value + 1).ToString(), current?.Version ?? 0));
                    done++;
                }
                catch (InconsistentStateException)
                {
                    // Someone else wrote in between: reload and try again.
                }
            }
        })));

        var stored = await Storage.State.ReadAsync(Type, "counter");
        Assert.Equal(writers * incrementsEach, int.Parse(Encoding.UTF8.GetString(stored!.Data!)));
        Assert.Equal(writers * incrementsEach, stored.Version);
    }

    [Fact]
    public async Task Many_keys_written_concurrently_are_all_acknowledged_in_order_and_readable_at_once()
    {
        const int keys = 500, writesPerKey = 4;

        await Task.WhenAll(Enumerable.Range(0, keys).Select(k => Task.Run(async () =>
        {
            for (var version = 1; version <= writesPerKey; version++)
            {
                var result = await Storage.State.WriteAsync(Write("k" + k, $"k{k}:{version}", version - 1, Event($"k{k}:{version}", "k" + k)));
                Assert.Equal(version, result.NewVersion);
                // Acknowledged means visible: a read right after the ack sees the write.
                var read = await Storage.State.ReadAsync(Type, "k" + k);
                Assert.Equal(version, read!.Version);
            }
        })));

        for (var k = 0; k < keys; k++)
        {
            var stored = await Storage.State.ReadAsync(Type, "k" + k);
            Assert.Equal((writesPerKey, $"k{k}:{writesPerKey}"), (stored!.Version, Encoding.UTF8.GetString(stored.Data!)));
        }
        var outbox = await AllUnsentAsync();
        Assert.Equal(keys * writesPerKey, outbox.Count);
        // Per partition (key), events are in write order.
        foreach (var partition in outbox.GroupBy(r => r.CourtyardId))
            Assert.Equal(Enumerable.Range(1, writesPerKey).Select(v => $"{partition.Key}:{v}"), partition.OrderBy(r => r.Id).Select(r => r.Payload));
    }

    [Fact]
    public async Task Writes_to_one_key_queued_back_to_back_behave_as_if_sequential()
    {
        // Not awaited in between, so they share a batch: the second must see the first's version.
        var tasks = Enumerable.Range(0, 50).Select(i => Storage.State.WriteAsync(Write("k", "v" + (i + 1), i))).ToArray();
        var stale = Storage.State.WriteAsync(Write("k", "stale", 3));

        var results = await Task.WhenAll(tasks);

        Assert.Equal(Enumerable.Range(1, 50).Select(v => (long)v), results.Select(r => r.NewVersion));
        await Assert.ThrowsAsync<InconsistentStateException>(() => stale);
        var stored = await Storage.State.ReadAsync(Type, "k");
        Assert.Equal(("v50", 50L), (Encoding.UTF8.GetString(stored!.Data!), stored.Version));
    }

    [Fact]
    public async Task A_5_MiB_state_round_trips_byte_for_byte()
    {
        var large = new byte[5 * 1024 * 1024];
        new Random(42).NextBytes(large);

        await Storage.State.WriteAsync(new StateWrite { StateType = Type, Key = "large", Data = large });
        large[^1] ^= 0xFF;
        await Storage.State.WriteAsync(new StateWrite { StateType = Type, Key = "large", Data = large, ExpectedVersion = 1 });

        var stored = await Storage.State.ReadAsync(Type, "large");
        Assert.Equal(2, stored!.Version);
        Assert.True(large.AsSpan().SequenceEqual(stored.Data!), "the stored 5 MiB state differs from what was written");
    }

    [Fact]
    public async Task Chinese_text_in_keys_state_and_events_round_trips_byte_for_byte()
    {
        const string text = "院规民约 第三条";
        const string key = "东城区/和平里/七号院";

        var result = await Storage.State.WriteAsync(Write(key, text, 0, Event(text, key)));

        var stored = await Storage.State.ReadAsync(Type, key);
        Assert.Equal(Bytes(text), stored!.Data);
        var row = Assert.Single(await AllUnsentAsync());
        Assert.Equal((result.OutboxIds[0], text, key), (row.Id, row.Payload, row.CourtyardId));
    }

    [Fact]
    public async Task Outbox_rows_are_committed_with_the_state_and_a_conflicting_write_appends_none()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var first = await Storage.State.WriteAsync(Write("k", "v1", 0, Event("a"), Event("b"), Event("c")));
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("k", "conflict", 0, Event("ghost"))));
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(Write("k", null, 5, Event("ghost"))));

        Assert.Equal(3, first.OutboxIds.Count);
        Assert.True(first.OutboxIds[0] < first.OutboxIds[1] && first.OutboxIds[1] < first.OutboxIds[2]);
        var rows = await AllUnsentAsync();
        Assert.Equal(["a", "b", "c"], rows.Select(r => r.Payload));
        Assert.Equal(first.OutboxIds, rows.Select(r => r.Id));
        var row = rows[0];
        Assert.Equal(("courtyard-1", "councils", "courtyard.councils.proposal_passed.v1", 0), (row.CourtyardId, row.Topic, row.EventType, row.Attempts));
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", row.TraceParent);
        Assert.InRange(row.CreatedAt, before, DateTimeOffset.UtcNow.AddSeconds(5));
    }

    [Fact]
    public async Task Outbox_reads_unsent_rows_oldest_first_and_forgets_rows_marked_sent()
    {
        var ids = new List<long>();
        for (var i = 0; i < 5; i++) ids.AddRange((await Storage.State.WriteAsync(Write("k", "v", i, Event("e" + i)))).OutboxIds);
        ids.AddRange(await Storage.Outbox.AppendAsync([Event("standalone-1", "other"), new OutboxMessage("other", "t", "type", "standalone-2")]));

        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Take(3), (await Storage.Outbox.ReadUnsentAsync(3)).Select(r => r.Id));
        var stats = await Storage.Outbox.GetStatsAsync();
        Assert.Equal(7, stats.Unsent);
        Assert.NotNull(stats.OldestUnsentCreatedAt);

        await Storage.Outbox.MarkSentAsync([ids[0], ids[2]]);
        await Storage.Outbox.RecordFailedAttemptAsync(ids[1]);
        await Storage.Outbox.RecordFailedAttemptAsync(ids[1]);

        var unsent = await AllUnsentAsync();
        Assert.Equal(new[] { ids[1], ids[3], ids[4], ids[5], ids[6] }, unsent.Select(r => r.Id));
        Assert.Equal(2, unsent[0].Attempts);
        Assert.Null(unsent[^1].TraceParent);
        Assert.Equal("standalone-2", unsent[^1].Payload);
        Assert.Equal(5, (await Storage.Outbox.GetStatsAsync()).Unsent);

        await Storage.Outbox.MarkSentAsync(ids);
        Assert.Empty(await AllUnsentAsync());
        Assert.Equal(new OutboxStats(0, null), await Storage.Outbox.GetStatsAsync());
    }

    [Fact]
    public async Task Reading_after_an_id_returns_only_later_unsent_rows_oldest_first()
    {
        var ids = new List<long>();
        for (var i = 0; i < 10; i++) ids.AddRange(await Storage.Outbox.AppendAsync([Event("e" + i, "courtyard-" + i % 3)]));
        await Storage.Outbox.MarkSentAsync([ids[4], ids[5], ids[8]]);

        Assert.Equal(new[] { ids[3], ids[6], ids[7], ids[9] }, (await Storage.Outbox.ReadUnsentAsync(100, ids[2])).Select(r => r.Id));
        Assert.Equal(new[] { ids[6], ids[7] }, (await Storage.Outbox.ReadUnsentAsync(2, ids[3])).Select(r => r.Id));
        Assert.Equal(new[] { ids[6] }, (await Storage.Outbox.ReadUnsentAsync(1, ids[4])).Select(r => r.Id));
        Assert.Equal(["e9"], (await Storage.Outbox.ReadUnsentAsync(100, ids[8])).Select(r => r.Payload));
        Assert.Empty(await Storage.Outbox.ReadUnsentAsync(100, ids[9]));
        Assert.Equal((await Storage.Outbox.ReadUnsentAsync(100)).Select(r => r.Id), (await Storage.Outbox.ReadUnsentAsync(100, 0)).Select(r => r.Id));
        var row = (await Storage.Outbox.ReadUnsentAsync(1, ids[6])).Single();
        Assert.Equal((ids[7], "courtyard-1", "e7"), (row.Id, row.CourtyardId, row.Payload));
    }

    [Fact]
    public async Task A_cursor_pages_through_every_unsent_row_exactly_once_however_the_sent_rows_are_spread()
    {
        var ids = (await Storage.Outbox.AppendAsync(Enumerable.Range(0, 3000).Select(i => Event("e" + i, "courtyard-" + i % 7)).ToList())).ToList();
        var sent = ids.Where((_, i) => i % 3 != 0 || i > 2500).ToArray();   // a long sent tail and holes everywhere
        await Storage.Outbox.MarkSentAsync(sent);

        var seen = new List<long>();
        long cursor = 0;
        while (true)
        {
            var page = await Storage.Outbox.ReadUnsentAsync(128, cursor);
            if (page.Count == 0) break;
            seen.AddRange(page.Select(r => r.Id));
            cursor = page[^1].Id;
        }

        Assert.Equal(ids.Except(sent), seen);
    }

    [Fact]
    public async Task Purging_deletes_only_rows_sent_before_the_cutoff_and_ids_are_never_reused()
    {
        var early = await Storage.Outbox.AppendAsync([Event("early-1"), Event("early-2")]);
        var late = await Storage.Outbox.AppendAsync([Event("late-1")]);
        var unsent = await Storage.Outbox.AppendAsync([Event("never-sent")]);
        await Storage.Outbox.MarkSentAsync(early);
        var cutoff = await ClockPassesAsync();
        await Storage.Outbox.MarkSentAsync(late);

        Assert.Equal(0, await Storage.Outbox.PurgeAsync(DateTimeOffset.UtcNow.AddHours(-1)));
        Assert.Equal(2, await Storage.Outbox.PurgeAsync(cutoff));
        Assert.Equal(0, await Storage.Outbox.PurgeAsync(cutoff));
        Assert.Equal(1, await Storage.Outbox.PurgeAsync(DateTimeOffset.UtcNow.AddDays(1)));

        // The unsent row is kept whatever its age; the rows sent are gone, and their ids are not handed out again.
        Assert.Equal(unsent, (await AllUnsentAsync()).Select(r => r.Id));
        await Storage.Outbox.MarkSentAsync(unsent);
        Assert.Equal(1, await Storage.Outbox.PurgeAsync(DateTimeOffset.UtcNow.AddDays(1)));
        await Storage.DisposeAsync();
        Storage = await OpenAsync();
        var next = await Storage.Outbox.AppendAsync([Event("after-purge")]);
        Assert.True(next[0] > unsent[0], $"id {next[0]} handed out again after the purge (last was {unsent[0]})");
    }

    [Fact]
    public async Task Purging_many_sent_rows_deletes_them_all_in_chunks_and_leaves_new_writes_alone()
    {
        var ids = await Storage.Outbox.AppendAsync(Enumerable.Range(0, 12_000).Select(i => Event("e" + i, "courtyard-" + i % 50)).ToList());
        await Storage.Outbox.MarkSentAsync(ids);
        var cutoff = await ClockPassesAsync();
        var fresh = await Storage.State.WriteAsync(Write("k", "v", 0, Event("fresh")));

        var purging = Storage.Outbox.PurgeAsync(cutoff);
        var during = await Storage.State.WriteAsync(Write("k", "v2", 1, Event("during")));

        Assert.Equal(12_000, await purging);
        Assert.Equal(["fresh", "during"], (await AllUnsentAsync()).Select(r => r.Payload));
        Assert.Equal(2, during.NewVersion);
        Assert.True(fresh.OutboxIds[0] > ids[^1]);
    }

    [Fact]
    public async Task Purging_the_inbox_forgets_marks_recorded_before_the_cutoff_only()
    {
        var old = Enumerable.Range(0, 5).Select(i => new InboxMark("rules", "councils", "old-" + i)).ToArray();
        foreach (var mark in old) Assert.True(await Storage.Inbox.TryRecordAsync(mark));
        var cutoff = await ClockPassesAsync();
        var recent = new InboxMark("rules", "councils", "recent");
        await Storage.State.WriteAsync(new StateWrite { StateType = Type, Key = "k", Data = Bytes("x"), Consumes = recent });

        Assert.Equal(0, await Storage.Inbox.PurgeAsync(DateTimeOffset.UtcNow.AddDays(-30)));
        Assert.Equal(5, await Storage.Inbox.PurgeAsync(cutoff));

        Assert.False(await Storage.Inbox.ContainsAsync(old[0]));
        Assert.True(await Storage.Inbox.ContainsAsync(recent));
        // A forgotten mark no longer de-duplicates: that is why marks are kept longer than any redelivery window.
        Assert.True(await Storage.Inbox.TryRecordAsync(old[0]));
        Assert.Equal(2, await Storage.Inbox.PurgeAsync(DateTimeOffset.UtcNow.AddMinutes(1)));
        Assert.False(await Storage.Inbox.ContainsAsync(recent));
    }

    [Fact]
    public async Task A_relay_lease_is_held_by_one_holder_renewed_by_it_and_taken_over_only_once_expired_or_released()
    {
        const string lease = "outbox-relay/councils";

        Assert.Null(await Storage.Outbox.ReadRelayLeaseAsync(lease));
        Assert.True(await Storage.Outbox.TryAcquireRelayLeaseAsync(lease, "replica-a", TimeSpan.FromMinutes(1)));
        Assert.False(await Storage.Outbox.TryAcquireRelayLeaseAsync(lease, "replica-b", TimeSpan.FromMinutes(1)));
        Assert.True(await Storage.Outbox.TryAcquireRelayLeaseAsync(lease, "replica-a", TimeSpan.FromMinutes(1)));   // renewal
        Assert.True(await Storage.Outbox.TryAcquireRelayLeaseAsync("outbox-relay/rules", "replica-b", TimeSpan.FromMinutes(1)));
        var held = await Storage.Outbox.ReadRelayLeaseAsync(lease);
        Assert.Equal("replica-a", held!.Holder);
        Assert.InRange(held.ExpiresAt, DateTimeOffset.UtcNow.AddSeconds(50), DateTimeOffset.UtcNow.AddSeconds(70));

        // A short renewal lets it lapse; then another holder takes over and the old one cannot renew.
        Assert.True(await Storage.Outbox.TryAcquireRelayLeaseAsync(lease, "replica-a", TimeSpan.FromMilliseconds(200)));
        Assert.False(await Storage.Outbox.TryAcquireRelayLeaseAsync(lease, "replica-b", TimeSpan.FromMinutes(1)));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await Storage.Outbox.TryAcquireRelayLeaseAsync(lease, "replica-b", TimeSpan.FromMinutes(1)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the expired lease was never taken over");
            await Task.Delay(20);
        }
        Assert.False(await Storage.Outbox.TryAcquireRelayLeaseAsync(lease, "replica-a", TimeSpan.FromMinutes(1)));
        Assert.Equal("replica-b", (await Storage.Outbox.ReadRelayLeaseAsync(lease))!.Holder);

        // Releasing: only the holder can, and then anyone claims it at once.
        await Storage.Outbox.ReleaseRelayLeaseAsync(lease, "replica-a");
        Assert.False(await Storage.Outbox.TryAcquireRelayLeaseAsync(lease, "replica-c", TimeSpan.FromMinutes(1)));
        await Storage.Outbox.ReleaseRelayLeaseAsync(lease, "replica-b");
        Assert.Null(await Storage.Outbox.ReadRelayLeaseAsync(lease));
        Assert.True(await Storage.Outbox.TryAcquireRelayLeaseAsync(lease, "replica-c", TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task Of_many_replicas_racing_for_a_relay_lease_exactly_one_wins_even_from_a_second_connection()
    {
        await using var second = await OpenAsync();   // another process on the same database
        var candidates = Enumerable.Range(0, 16).Select(i => (Store: (i % 2 == 0 ? Storage : second).Outbox, Holder: "replica-" + i)).ToArray();

        var wins = await Task.WhenAll(candidates.Select(c => Task.Run(() => c.Store.TryAcquireRelayLeaseAsync("outbox-relay/councils", c.Holder, TimeSpan.FromMinutes(1)))));

        var winner = Assert.Single(candidates.Where((_, i) => wins[i]));
        Assert.Equal(winner.Holder, (await second.Outbox.ReadRelayLeaseAsync("outbox-relay/councils"))!.Holder);
        var again = await Task.WhenAll(candidates.Select(c => c.Store.TryAcquireRelayLeaseAsync("outbox-relay/councils", c.Holder, TimeSpan.FromMinutes(1))));
        Assert.Equal(candidates.Select(c => c.Holder == winner.Holder), again);
    }

    /// <summary>Waits until the clock has moved on, returns a cutoff between what happened before and what happens after.</summary>
    private static async Task<DateTimeOffset> ClockPassesAsync()
    {
        var start = DateTimeOffset.UtcNow;
        while (DateTimeOffset.UtcNow < start.AddMilliseconds(20)) await Task.Delay(5);
        var cutoff = DateTimeOffset.UtcNow;
        while (DateTimeOffset.UtcNow < cutoff.AddMilliseconds(20)) await Task.Delay(5);
        return cutoff;
    }

    [Fact]
    public async Task Consuming_the_same_event_twice_writes_the_state_once()
    {
        var mark = new InboxMark("volunteers", "councils", "42");
        await Storage.State.WriteAsync(Write("k", "before", 0, Event("effect")));
        var first = await Storage.State.WriteAsync(new StateWrite
        {
            StateType = Type, Key = "k", Data = Bytes("handled"), ExpectedVersion = 1, Consumes = mark, Outbox = [Event("effect of 42")],
        });
        var again = await Storage.State.WriteAsync(new StateWrite
        {
            StateType = Type, Key = "k", Data = Bytes("handled twice"), ExpectedVersion = 2, Consumes = mark, Outbox = [Event("duplicate effect")],
        });

        Assert.Equal((WriteOutcome.Committed, 2L), (first.Outcome, first.NewVersion));
        Assert.Equal(WriteOutcome.AlreadyConsumed, again.Outcome);
        Assert.Empty(again.OutboxIds);
        var stored = await Storage.State.ReadAsync(Type, "k");
        Assert.Equal(("handled", 2L), (Encoding.UTF8.GetString(stored!.Data!), stored.Version));
        Assert.Equal(["effect", "effect of 42"], (await AllUnsentAsync()).Select(r => r.Payload));
        Assert.True(await Storage.Inbox.ContainsAsync(mark));
        Assert.False(await Storage.Inbox.ContainsAsync(mark with { Consumer = "projects" }));
        Assert.False(await Storage.Inbox.TryRecordAsync(mark));
    }

    [Fact]
    public async Task Concurrent_deliveries_of_one_event_take_effect_exactly_once()
    {
        var mark = new InboxMark("volunteers", "councils", "7");
        var deliveries = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Storage.State.WriteAsync(new StateWrite
        {
            StateType = Type, Key = "shift-" + i, Data = Bytes("effect"), Consumes = mark, Outbox = [Event("effect " + i)],
        })));

        Assert.Single(deliveries, d => d.Outcome == WriteOutcome.Committed);
        Assert.Equal(7, deliveries.Count(d => d.Outcome == WriteOutcome.AlreadyConsumed));
        Assert.Single(await AllUnsentAsync());
    }

    [Fact]
    public async Task A_conflicting_write_leaves_no_inbox_mark_so_the_event_can_be_handled_after_reload()
    {
        var mark = new InboxMark("rules", "councils", "99");
        await Storage.State.WriteAsync(Write("k", "v1", 0));

        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.State.WriteAsync(new StateWrite
        {
            StateType = Type, Key = "k", Data = Bytes("stale"), ExpectedVersion = 0, Consumes = mark, Outbox = [Event("lost")],
        }));

        Assert.False(await Storage.Inbox.ContainsAsync(mark));
        Assert.Empty(await AllUnsentAsync());
        var retried = await Storage.State.WriteAsync(new StateWrite
        {
            StateType = Type, Key = "k", Data = Bytes("v2"), ExpectedVersion = 1, Consumes = mark,
        });
        Assert.Equal((WriteOutcome.Committed, 2L), (retried.Outcome, retried.NewVersion));
        Assert.True(await Storage.Inbox.ContainsAsync(mark));
    }

    [Fact]
    public async Task Inbox_records_a_mark_alone_once()
    {
        var mark = new InboxMark("projects", "volunteers", "shift-completed-1");

        Assert.False(await Storage.Inbox.ContainsAsync(mark));
        Assert.True(await Storage.Inbox.TryRecordAsync(mark));
        Assert.False(await Storage.Inbox.TryRecordAsync(mark));
        Assert.True(await Storage.Inbox.ContainsAsync(mark));
        var consumed = await Storage.State.WriteAsync(new StateWrite { StateType = Type, Key = "k", Data = Bytes("x"), Consumes = mark });
        Assert.Equal(WriteOutcome.AlreadyConsumed, consumed.Outcome);
        Assert.Null(await Storage.State.ReadAsync(Type, "k"));
    }

    [Fact]
    public async Task Dead_letters_can_be_added_listed_fetched_and_removed()
    {
        var deadAt = new DateTimeOffset(2026, 11, 22, 8, 30, 15, 123, TimeSpan.FromHours(8));
        DeadLetter Letter(string consumer, string eventId) => new(0, consumer, "councils", eventId, "courtyard.councils.proposal_passed.v1",
            "councils", "courtyard-1", """{"specversion":"1.0","data":{"标题":"院规民约 第三条"}}""", "handler threw: 超时", 5, deadAt);

        var first = await Storage.DeadLetters.AddAsync(Letter("rules", "1"));
        var second = await Storage.DeadLetters.AddAsync(Letter("volunteers", "2"));
        var third = await Storage.DeadLetters.AddAsync(Letter("rules", "3"));

        Assert.Equal(3, await Storage.DeadLetters.CountAsync());
        Assert.Equal([first, second, third], (await Storage.DeadLetters.ListAsync(null, 10)).Select(l => l.Id));
        Assert.Equal([first, third], (await Storage.DeadLetters.ListAsync("rules", 10)).Select(l => l.Id));
        Assert.Equal([first], (await Storage.DeadLetters.ListAsync(null, 1)).Select(l => l.Id));
        Assert.Equal(Letter("volunteers", "2") with { Id = second }, await Storage.DeadLetters.GetAsync(second));

        Assert.True(await Storage.DeadLetters.RemoveAsync(second));
        Assert.False(await Storage.DeadLetters.RemoveAsync(second));
        Assert.Null(await Storage.DeadLetters.GetAsync(second));
        Assert.Equal(2, await Storage.DeadLetters.CountAsync());
    }

    [Fact]
    public async Task Reopening_the_database_keeps_everything_and_migrates_nothing_twice()
    {
        await Storage.State.WriteAsync(Write("k", "kept", 0, Event("kept")));
        var vote = Orleans.Runtime.GrainId.Create("councils.vote", "v1");
        await Storage.Reminders.UpsertRow(new Orleans.ReminderEntry { GrainId = vote, ReminderName = "close", StartAt = DateTime.UnixEpoch.AddDays(20000), Period = TimeSpan.FromMinutes(90) });
        await Storage.Journal.AppendAsync(new JournalAppend { Stream = "councils.ballots/v1", ExpectedVersion = 0, Events = [[1], [2]] });
        await Storage.DisposeAsync();

        Storage = await OpenAsync();
        await using (var second = await OpenAsync())
            Assert.Equal(1, (await second.State.ReadAsync(Type, "k"))!.Version);

        Assert.Equal("kept", Encoding.UTF8.GetString((await Storage.State.ReadAsync(Type, "k"))!.Data!));
        Assert.Equal("kept", Assert.Single(await AllUnsentAsync()).Payload);
        Assert.Equal(TimeSpan.FromMinutes(90), (await Storage.Reminders.ReadRow(vote, "close"))!.Period);
        Assert.Equal(2, (await Storage.Journal.ReadAsync("councils.ballots/v1"))!.Version);
        Assert.Equal(2, (await Storage.State.WriteAsync(Write("k", "after restart", 1))).NewVersion);
    }

    [Fact]
    public async Task A_write_cancelled_before_it_is_committed_is_not_applied_and_later_writes_proceed()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Storage.State.WriteAsync(Write("k", "never", 0), cancelled.Token));

        Assert.Null(await Storage.State.ReadAsync(Type, "k"));
        Assert.Equal(1, (await Storage.State.WriteAsync(Write("k", "v1", 0))).NewVersion);
    }

    [Fact]
    public async Task After_the_writer_process_is_killed_every_acknowledged_write_is_there_and_no_transaction_is_partial()
    {
        await Storage.DisposeAsync();
        await using (var worker = ChildProcess.StartTestWorker("Courtyard.Storage.Tests.Worker", ["crash-writer", .. WorkerTarget]))
        {
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (worker.LineCount < 3000 && !worker.HasExited && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.False(worker.HasExited, "the worker stopped by itself: " + worker.StandardError);
            Assert.True(worker.LineCount >= 3000, $"only {worker.LineCount} writes acknowledged in 90 s: {worker.StandardError}");
            await worker.KillAsync();

            Storage = await OpenAsync();
            var acknowledged = new Dictionary<string, long>();
            foreach (var line in worker.Lines)
            {
                var parts = line.Split(' ');
                if (parts is ["ack", var key, var version] && long.TryParse(version, out var v))
                    acknowledged[key] = Math.Max(v, acknowledged.GetValueOrDefault(key));
            }
            Assert.True(acknowledged.Count > 100, $"acknowledged keys: {acknowledged.Count}");

            var outbox = (await Storage.Outbox.ReadUnsentAsync(1_000_000)).ToLookup(r => r.CourtyardId, r => r.Payload);
            for (var k = 0; k < 200; k++)
            {
                var key = "k" + k;
                var stored = await Storage.State.ReadAsync("crash", key);
                var storedVersion = stored?.Version ?? 0;
                Assert.True(storedVersion >= acknowledged.GetValueOrDefault(key),
                    $"{key}: acknowledged version {acknowledged.GetValueOrDefault(key)} but stored {storedVersion}");
                if (stored is not null) Assert.Equal($"{key}:{storedVersion}", Encoding.UTF8.GetString(stored.Data!));
                // State and outbox rows commit together: exactly one event per version, none beyond the stored one.
                Assert.Equal(Enumerable.Range(1, (int)storedVersion).Select(v => (long)v),
                    outbox[key].Select(payload => long.Parse(payload[(payload.IndexOf(':') + 1)..])).Order());
            }
        }
    }
}
