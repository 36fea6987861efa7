namespace Courtyard.Storage.Tests;

/// <summary>The outbox as the event relay reads it (services/Courtyard.Storage/OutboxStore.cs), on every provider.</summary>
public abstract partial class StorageConformanceTests
{
    private static OutboxMessage RowOf(string courtyardId, string payload) =>
        new(courtyardId, "councils", "courtyard.councils.proposal_passed.v1", payload);

    [Fact]
    public async Task A_courtyards_unsent_rows_are_read_after_its_cursor_up_to_a_given_id_for_several_courtyards_at_once()
    {
        var ids = (await Storage.Outbox.AppendAsync(Enumerable.Range(0, 30).Select(i => RowOf($"courtyard-{i % 3}", "e" + i)).ToList())).ToList();
        await Storage.Outbox.MarkSentAsync([ids[3]]);   // courtyard-0's second row

        var rows = await Storage.Outbox.ReadUnsentOfCourtyardsAsync(
            [new CourtyardCursor("courtyard-0", ids[0]), new CourtyardCursor("courtyard-2", 0), new CourtyardCursor("courtyard-9", 0)],
            upToId: ids[20], maxPerCourtyard: 4);

        // courtyard-0: after ids[0], skipping the sent ids[3]: 6, 9, 12, 15; courtyard-2: 2, 5, 8, 11; in id order.
        Assert.Equal(new[] { 2, 5, 6, 8, 9, 11, 12, 15 }.Select(i => ids[i]), rows.Select(r => r.Id));
        Assert.Empty(await Storage.Outbox.ReadUnsentOfCourtyardsAsync([new CourtyardCursor("courtyard-1", ids[28])], ids[29], 10));
        Assert.Equal([ids[19]], (await Storage.Outbox.ReadUnsentOfCourtyardsAsync([new CourtyardCursor("courtyard-1", ids[16])], ids[20], 10)).Select(r => r.Id));
    }

    [Fact]
    public async Task A_parked_row_stays_unsent_is_listed_with_its_error_and_is_released_or_discarded_only_while_parked()
    {
        var ids = await Storage.Outbox.AppendAsync([RowOf("courtyard-1", "a"), RowOf("courtyard-1", "b"), RowOf("courtyard-2", "c")]);
        await Storage.Outbox.RecordFailedAttemptAsync(ids[0], "refused: too large");
        await Storage.Outbox.ParkAsync(ids[0], "refused: too large (3rd time)");
        await Storage.Outbox.RecordFailedAttemptAsync(ids[2], "refused: not allowed");
        await Storage.Outbox.ParkAsync(ids[2], "refused: not allowed");

        var parked = await Storage.Outbox.ListParkedAsync(10);
        Assert.Equal([ids[0], ids[2]], parked.Select(r => r.Id));
        Assert.Equal((2, "refused: too large (3rd time)"), (parked[0].Attempts, parked[0].LastError));
        Assert.NotNull(parked[0].ParkedAt);
        Assert.Equal(new OutboxStats(3, parked[0].CreatedAt, 2) with { OldestUnsentCreatedAt = null },
            (await Storage.Outbox.GetStatsAsync()) with { OldestUnsentCreatedAt = null });
        Assert.Equal(3, (await Storage.Outbox.ReadUnsentAsync(10)).Count);   // parked rows are still unsent: the relay sees them
        Assert.NotNull((await Storage.Outbox.ReadUnsentAsync(10))[0].ParkedAt);

        Assert.True(await Storage.Outbox.ReleaseParkedAsync(ids[0]));
        Assert.False(await Storage.Outbox.ReleaseParkedAsync(ids[0]));
        Assert.False(await Storage.Outbox.DiscardParkedAsync(ids[1]));   // never parked: not discarded
        var released = (await Storage.Outbox.ReadUnsentAsync(10))[0];
        Assert.Equal((ids[0], 0, (DateTimeOffset?)null), (released.Id, released.Attempts, released.ParkedAt));

        Assert.True(await Storage.Outbox.DiscardParkedAsync(ids[2]));
        Assert.Equal([ids[0], ids[1]], (await Storage.Outbox.ReadUnsentAsync(10)).Select(r => r.Id));
        Assert.Empty(await Storage.Outbox.ListParkedAsync(10));
        Assert.Equal(0, (await Storage.Outbox.GetStatsAsync()).Parked);
    }

    [Fact]
    public async Task A_gap_below_a_visible_row_settles_once_the_transactions_running_at_its_first_sighting_have_ended()
    {
        var ids = await Storage.Outbox.AppendAsync([RowOf("courtyard-1", "a"), RowOf("courtyard-1", "b")]);
        await Storage.Outbox.MarkSentAsync([ids[0]]);

        var first = await Storage.Outbox.ReadUnsentAsync(10);

        Assert.Equal([ids[1]], first.Select(r => r.Id));
        // Nothing of this test is running; other tests sharing a PostgreSQL cluster finish their transactions soon.
        await Courtyard.Testing.Eventually.HoldsAsync(async () => (await Storage.Outbox.ReadUnsentAsync(10)).Visibility.Settles(first.Visibility),
            TimeSpan.FromSeconds(30), $"a later read settles the gap first seen at {first.Visibility}");
    }
}
