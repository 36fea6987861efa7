using Courtyard.Events.Outbox;
using Courtyard.Storage;

namespace Courtyard.Events.Tests;

/// <summary>The gap rule, read by read: a gap is passed only once every transaction that could fill it has ended.</summary>
public sealed class OutboxFrontierTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);

    private static OutboxRecord Row(long id) => new(id, "courtyard-1", "testing", "courtyard.testing.thing_happened.v1", "{}", null, Start, 0);

    /// <summary>A read returning <paramref name="ids"/> whose snapshot had xmin <paramref name="oldestRunning"/>, next xid <paramref name="nextToStart"/>.</summary>
    private static UnsentRows Read(ulong oldestRunning, ulong nextToStart, params long[] ids) =>
        new(ids.Select(Row).ToList(), new OutboxVisibility(oldestRunning, nextToStart));

    [Fact]
    public void Contiguous_rows_are_taken_at_once()
    {
        var frontier = new OutboxFrontier(TimeSpan.FromSeconds(5));

        var taken = frontier.Advance(Read(100, 105, 1, 2, 3), Start, out var gapOpen);

        Assert.Equal([1L, 2, 3], taken.Select(r => r.Id));
        Assert.False(gapOpen);
        Assert.Equal(3, frontier.Position);
    }

    [Fact]
    public void Rows_above_a_gap_wait_until_a_later_read_shows_every_transaction_running_at_the_first_sighting_has_ended()
    {
        var frontier = new OutboxFrontier(TimeSpan.FromSeconds(5));
        frontier.Advance(Read(100, 100, 1), Start, out _);

        // Id 2 is missing under row 3; transactions 101..104 had started (next xid 105), 101 still runs.
        Assert.Empty(frontier.Advance(Read(101, 105, 3, 4), Start, out var gapOpen));
        Assert.True(gapOpen);
        // Later transactions (>= 105) cannot hold id 2; 104 still running can.
        Assert.Empty(frontier.Advance(Read(104, 110, 3, 4), Start.AddMilliseconds(10), out gapOpen));
        Assert.True(gapOpen);
        // Everything below 105 has ended and id 2 is still missing: it was rolled back (or sent). Pass it.
        Assert.Equal([3L, 4], frontier.Advance(Read(105, 112, 3, 4), Start.AddMilliseconds(20), out gapOpen).Select(r => r.Id));
        Assert.False(gapOpen);
        Assert.Empty(frontier.LateWatches);
    }

    [Fact]
    public void A_gap_that_fills_is_taken_in_id_order()
    {
        var frontier = new OutboxFrontier(TimeSpan.FromSeconds(5));
        frontier.Advance(Read(100, 100, 1), Start, out _);
        Assert.Empty(frontier.Advance(Read(101, 105, 3), Start, out _));

        Assert.Equal([2L, 3], frontier.Advance(Read(104, 106, 2, 3), Start.AddMilliseconds(5), out var gapOpen).Select(r => r.Id));
        Assert.False(gapOpen);
    }

    [Fact]
    public void At_the_start_of_a_term_the_ids_below_the_first_visible_row_are_a_gap_like_any_other()
    {
        var frontier = new OutboxFrontier(TimeSpan.FromSeconds(5));

        // Ids 1..9: sent long ago, or one still being committed: the relay cannot tell yet.
        Assert.Empty(frontier.Advance(Read(200, 210, 10, 11), Start, out var gapOpen));
        Assert.True(gapOpen);
        Assert.Equal([10L, 11], frontier.Advance(Read(210, 215, 10, 11), Start.AddMilliseconds(5), out _).Select(r => r.Id));
    }

    [Fact]
    public void The_bound_of_a_gap_is_the_read_that_first_showed_a_row_above_it()
    {
        var frontier = new OutboxFrontier(TimeSpan.FromSeconds(5));
        frontier.Advance(Read(100, 100, 1), Start, out _);
        Assert.Empty(frontier.Advance(Read(101, 105, 3), Start, out _));                      // gap 2 first seen, bound 105
        Assert.Equal([3L], frontier.Advance(Read(105, 120, 3, 5), Start, out var gapOpen).Select(r => r.Id));
        // Gap 4 was first seen by this last read (bound 120): xmin 105 does not settle it yet.
        Assert.True(gapOpen);
        Assert.Equal(3, frontier.Position);
    }

    [Fact]
    public void A_gap_older_than_the_cap_is_passed_and_watched_until_the_database_settles_it()
    {
        var frontier = new OutboxFrontier(TimeSpan.FromSeconds(1));
        frontier.Advance(Read(100, 100, 1), Start, out _);
        Assert.Empty(frontier.Advance(Read(101, 105, 3), Start, out _));

        var taken = frontier.Advance(Read(101, 130, 3), Start.AddSeconds(2), out var gapOpen);   // transaction 101 left open

        Assert.Equal([3L], taken.Select(r => r.Id));
        Assert.False(gapOpen);
        var watch = Assert.Single(frontier.LateWatches);
        Assert.Equal((2L, 2L), (watch.From, watch.To));
        // Its row commits later: found once, then the watch ends when the database shows the gap settled.
        Assert.Equal([2L], frontier.CheckLate(watch, Read(101, 131, 2, 7)).Select(r => r.Id));
        Assert.Empty(frontier.CheckLate(watch, Read(102, 132, 2, 7)));
        Assert.Single(frontier.LateWatches);
        Assert.Empty(frontier.CheckLate(watch, Read(140, 141, 7)));
        Assert.Empty(frontier.LateWatches);
    }

    [Fact]
    public void In_a_store_that_commits_in_id_order_every_gap_is_final_at_once()
    {
        var frontier = new OutboxFrontier(TimeSpan.FromSeconds(5));

        var taken = frontier.Advance(new UnsentRows([Row(5), Row(9)], OutboxVisibility.InCommitOrder), Start, out var gapOpen);

        Assert.Equal([5L, 9], taken.Select(r => r.Id));
        Assert.False(gapOpen);
    }
}
