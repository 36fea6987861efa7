using Orleans;
using Orleans.Runtime;

namespace Courtyard.Storage.Tests;

/// <summary>Each provider's reminders, as Orleans' reminder service reads and writes them (IReminderTable).</summary>
public abstract partial class StorageConformanceTests
{
    private static ReminderEntry Reminder(GrainId grain, string name, DateTime startAt, TimeSpan period) =>
        new() { GrainId = grain, ReminderName = name, StartAt = startAt, Period = period };

    [Fact]
    public async Task A_reminder_row_gets_a_new_etag_on_each_upsert_and_is_removed_only_with_the_current_one()
    {
        var vote = GrainId.Create("councils.vote", "东城区/七号院/v1");
        var startAt = new DateTime(2026, 11, 22, 12, 0, 0, 123, DateTimeKind.Utc).AddTicks(4560);

        var first = await Storage.Reminders.UpsertRow(Reminder(vote, "close", startAt, TimeSpan.FromMinutes(10)));
        var second = await Storage.Reminders.UpsertRow(Reminder(vote, "close", startAt.AddHours(1), TimeSpan.FromMinutes(20)));
        await Storage.Reminders.UpsertRow(Reminder(vote, "remind", startAt, TimeSpan.FromDays(1)));
        await Storage.Reminders.UpsertRow(Reminder(GrainId.Create("councils.vote", "v2"), "close", startAt, TimeSpan.FromMinutes(10)));

        Assert.NotEqual(first, second);
        var row = await Storage.Reminders.ReadRow(vote, "close");
        Assert.Equal((vote, "close", startAt.AddHours(1), TimeSpan.FromMinutes(20), second), (row!.GrainId, row.ReminderName, row.StartAt, row.Period, row.ETag));
        Assert.Equal(DateTimeKind.Utc, row.StartAt.Kind);
        Assert.Equal(["close", "remind"], (await Storage.Reminders.ReadRows(vote)).Reminders.Select(r => r.ReminderName).Order());
        Assert.Null(await Storage.Reminders.ReadRow(vote, "absent"));

        Assert.False(await Storage.Reminders.RemoveRow(vote, "close", first!));       // stale ETag: the row stays
        Assert.NotNull(await Storage.Reminders.ReadRow(vote, "close"));
        Assert.False(await Storage.Reminders.RemoveRow(vote, "close", "not-an-etag"));
        Assert.True(await Storage.Reminders.RemoveRow(vote, "close", second!));
        Assert.False(await Storage.Reminders.RemoveRow(vote, "close", second!));
        Assert.Null(await Storage.Reminders.ReadRow(vote, "close"));

        // Registered again after its removal: an ETag from before never removes the new registration.
        var again = await Storage.Reminders.UpsertRow(Reminder(vote, "close", startAt, TimeSpan.FromMinutes(10)));
        Assert.False(await Storage.Reminders.RemoveRow(vote, "close", first!));
        Assert.True(await Storage.Reminders.RemoveRow(vote, "close", again!));
    }

    [Fact]
    public async Task Range_reads_follow_the_grains_uniform_hash_and_wrap_around_when_begin_is_not_below_end()
    {
        var grains = Enumerable.Range(0, 40).Select(i => GrainId.Create("councils.vote", "v" + i)).ToArray();
        foreach (var grain in grains) await Storage.Reminders.UpsertRow(Reminder(grain, "close", DateTime.UtcNow, TimeSpan.FromMinutes(1)));
        var hashes = grains.Select(g => g.GetUniformHashCode()).Order().ToArray();
        var begin = hashes[10];
        var end = hashes[25];

        async Task<uint[]> Range(uint from, uint to) =>
            (await Storage.Reminders.ReadRows(from, to)).Reminders.Select(r => r.GrainId.GetUniformHashCode()).Order().ToArray();

        Assert.Equal(hashes.Where(h => h > begin && h <= end), await Range(begin, end));           // (begin, end]
        Assert.Equal(hashes.Where(h => h > end || h <= begin), await Range(end, begin));           // wraps
        Assert.Equal(hashes, await Range(begin, begin));                                           // the whole ring
        Assert.Equal(hashes, await Range(0, uint.MaxValue).ContinueWith(t => t.Result.Concat(hashes.Where(h => h == 0)).Order().ToArray()));
        await Storage.Reminders.TestOnlyClearTable();
        Assert.Empty(await Range(begin, begin));
    }
}
