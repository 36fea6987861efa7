using System.Collections.Concurrent;
using Courtyard.Events.Outbox;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Events.Transports;
using Courtyard.Testing;

namespace Courtyard.Events.Tests;

/// <summary>The relay's cursor: rows read once, failed rows holding back only their courtyard, late commits and long-blocked courtyards found by the sweep.</summary>
public class OutboxCursorTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);

    /// <summary>A producer ("councils") over <see cref="ObservedStorage"/> and a consumer ("rules") recording sequences per courtyard, on one in-process transport.</summary>
    private sealed class Harness : IAsyncDisposable
    {
        private readonly TempDatabase producerDatabase = new("councils");
        private readonly TempDatabase consumerDatabase = new("rules");
        private readonly ConcurrentDictionary<string, long> versions = new();
        private readonly InProcessTransport inProcess = new();
        private EventBus consumer = null!;

        public RecordingTransport Transport { get; private set; } = null!;
        public ObservedStorage Storage { get; private set; } = null!;
        public EventBus Producer { get; private set; } = null!;
        public ConcurrentDictionary<string, ConcurrentQueue<long>> Seen { get; } = new();

        public static async Task<Harness> StartAsync(Action<EventBusOptions> configure, bool startRelay = true)
        {
            var harness = new Harness();
            harness.Transport = new RecordingTransport(harness.inProcess);
            harness.consumer = new EventBus(new EventBusOptions { Source = "rules", RelayEnabled = false }, await harness.consumerDatabase.OpenAsync(),
                harness.inProcess);
            harness.consumer.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, context) =>
            {
                harness.Seen.GetOrAdd(context.CourtyardId, _ => new()).Enqueue(thing.Sequence);
                return Task.CompletedTask;
            });
            await harness.consumer.StartAsync();
            harness.Storage = new ObservedStorage(await harness.producerDatabase.OpenAsync());
            await harness.StartProducerAsync(configure, startRelay);
            return harness;
        }

        /// <summary>(Re)starts the producing service over the same database, as a restarted process would.</summary>
        public async Task StartProducerAsync(Action<EventBusOptions> configure, bool startRelay = true)
        {
            if (Producer is not null)
            {
                await Producer.StopAsync();
            }
            var options = new EventBusOptions { Source = "councils", RelayPollInterval = TimeSpan.FromMilliseconds(200) };
            configure(options);
            Producer = new EventBus(options, Storage, Transport);
            if (startRelay)
            {
                await Producer.StartAsync();
            }
        }

        public async Task CommitAsync(string courtyard, long sequence) =>
            versions[courtyard] = await Producer.CommitThingAsync(courtyard, sequence, versions.GetValueOrDefault(courtyard));

        /// <summary>Every row marked sent: the transport has returned from every publish (the handler runs inside an in-process publish).</summary>
        public Task DrainedAsync() =>
            Eventually.HoldsAsync(async () => (await Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "every row marked sent");

        public long[] SeenOf(string courtyard) => Seen.TryGetValue(courtyard, out var seen) ? seen.ToArray() : [];

        public async ValueTask DisposeAsync()
        {
            await Producer.StopAsync();
            await consumer.StopAsync();
            await inProcess.DisposeAsync();
            await producerDatabase.DisposeAsync();
            await consumerDatabase.DisposeAsync();
        }
    }

    [Fact]
    public async Task Each_row_is_read_once_however_large_the_backlog_the_relay_works_through()
    {
        // No poll and no sweep during the test: what is read is what the cursor reads.
        await using var harness = await Harness.StartAsync(o => o.RelayPollInterval = TimeSpan.FromMinutes(5));

        await Task.WhenAll(Enumerable.Range(0, 20).Select(c => Task.Run(async () =>
        {
            for (var s = 0; s < 100; s++)
            {
                await harness.CommitAsync($"courtyard-{c}", s);
            }
        })));

        await Eventually.HoldsAsync(() => harness.Seen.Values.Sum(q => q.Count) == 2000, Within, "2000 events handled");
        await harness.DrainedAsync();
        Assert.Equal(2000, harness.Storage.RowsRead);
        Assert.All(harness.Transport.AcceptedById.Values, count => Assert.Equal(1, count));
        for (var c = 0; c < 20; c++)
        {
            Assert.Equal(Enumerable.Range(0, 100).Select(s => (long)s), harness.SeenOf($"courtyard-{c}"));
        }
    }

    [Fact]
    public async Task A_blocked_courtyard_holds_back_only_its_own_rows_even_far_beyond_what_the_relay_keeps_in_memory()
    {
        // At most 4 rows per publish, so at most 8 rows of a courtyard wait in memory: most of A's rows stay in the database.
        await using var harness = await Harness.StartAsync(o =>
        {
            o.RelayMaxRowsPerPublish = 4;
            o.PublishBackoff = new Backoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100));
        });
        harness.Transport.Broken["courtyard-A"] = 0;

        for (var s = 0; s < 60; s++)
        {
            await harness.CommitAsync("courtyard-A", s);
            await harness.CommitAsync("courtyard-B", s);
        }

        await Eventually.HoldsAsync(() => harness.SeenOf("courtyard-B").Length == 60, Within, "courtyard B flows past the blocked A");
        await Eventually.HoldsAsync(() => harness.Transport.RefusedAttempts.GetValueOrDefault("courtyard-A") >= 3, Within, "A retried");
        Assert.Empty(harness.SeenOf("courtyard-A"));
        for (var s = 60; s < 80; s++)
        {
            await harness.CommitAsync("courtyard-A", s);   // more of A while it is blocked
        }

        harness.Transport.Broken.Clear();

        await Eventually.HoldsAsync(() => harness.SeenOf("courtyard-A").Length == 80, Within, "A drains after the transport heals");
        Assert.Equal(Enumerable.Range(0, 80).Select(s => (long)s), harness.SeenOf("courtyard-A"));
        Assert.Equal(Enumerable.Range(0, 60).Select(s => (long)s), harness.SeenOf("courtyard-B"));
        await harness.DrainedAsync();
        Assert.Equal(140, harness.Transport.AcceptedById.Count);
        Assert.All(harness.Transport.AcceptedById.Values, count => Assert.Equal(1, count));
    }

    [Fact]
    public async Task At_term_start_a_row_still_being_committed_below_visible_rows_holds_them_back_until_it_commits()
    {
        await using var harness = await Harness.StartAsync(o => o.RelayGapWaitLimit = TimeSpan.FromSeconds(60), startRelay: false);
        await harness.CommitAsync("courtyard-A", 0);                                        // id 1
        var late = (await harness.Producer.Storage.Outbox.AppendAsync([EventCatalog.ToOutbox("courtyard-A", new ThingHappened { Sequence = 1 })]))[0];
        harness.Storage.Hide(late);                                                          // id 2: its transaction "has not committed yet"
        await harness.CommitAsync("courtyard-A", 2);                                        // id 3
        await harness.CommitAsync("courtyard-B", 0);                                        // id 4

        await harness.Producer.StartAsync();   // a new term: the old relay started from the first visible row and published 3 before 2
        await Eventually.HoldsAsync(() => harness.SeenOf("courtyard-A").Length == 1, Within, "the row below the gap published");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal([0L], harness.SeenOf("courtyard-A"));
        Assert.Empty(harness.SeenOf("courtyard-B"));

        harness.Storage.ShowAll();   // committed

        await Eventually.HoldsAsync(() => harness.SeenOf("courtyard-A").Length == 3 && harness.SeenOf("courtyard-B").Length == 1, Within, "everything published");
        Assert.Equal([0L, 1L, 2L], harness.SeenOf("courtyard-A"));
    }

    [Fact]
    public async Task A_gap_older_than_the_safety_cap_is_passed_and_a_row_committing_into_it_later_is_still_published()
    {
        await using var harness = await Harness.StartAsync(o => o.RelayGapWaitLimit = TimeSpan.FromMilliseconds(300));
        await harness.CommitAsync("courtyard-A", 0);   // id 1
        await Eventually.HoldsAsync(() => harness.SeenOf("courtyard-A").Length == 1, Within, "the first event published");
        var late = (await harness.Producer.Storage.Outbox.AppendAsync([EventCatalog.ToOutbox("courtyard-C", new ThingHappened { Sequence = 0 })]))[0];
        harness.Storage.Hide(late);                    // id 2: a transaction left open for longer than the cap
        await harness.CommitAsync("courtyard-B", 0);   // id 3

        await Eventually.HoldsAsync(() => harness.SeenOf("courtyard-B").Length == 1, Within, "B published once the cap passed");
        Assert.Empty(harness.SeenOf("courtyard-C"));

        harness.Storage.ShowAll();

        await Eventually.HoldsAsync(() => harness.SeenOf("courtyard-C").Length == 1, Within, "the late row published all the same");
        await harness.DrainedAsync();
        Assert.Equal(1, harness.Transport.AcceptedById[EventIds.Format("councils", late)]);
    }

    [Fact]
    public async Task A_row_read_above_an_id_not_yet_committed_waits_for_it_so_its_courtyard_stays_in_order()
    {
        await using var harness = await Harness.StartAsync(o => o.RelayGapWaitLimit = TimeSpan.FromSeconds(20));
        await harness.CommitAsync("courtyard-A", 0);   // id 1: the relay has read up to here
        await Eventually.HoldsAsync(() => harness.SeenOf("courtyard-A").Length == 1, Within, "the first event published");

        harness.Storage.Hide(2);                       // id 2 took its id first but "commits" last
        await harness.CommitAsync("courtyard-C", 0);   // id 2
        await harness.CommitAsync("courtyard-C", 1);   // id 3, visible at once
        await Eventually.HoldsAsync(() => harness.Storage.RowsRead >= 2, Within, "the relay read the row above the hole");
        Assert.Empty(harness.SeenOf("courtyard-C"));

        harness.Storage.ShowAll();

        // Far sooner than the 20 s cap: the relay looked again and found the row that fills the hole.
        await Eventually.HoldsAsync(() => harness.SeenOf("courtyard-C").Length == 2, TimeSpan.FromSeconds(10), "both rows of C published");
        Assert.Equal([0L, 1L], harness.SeenOf("courtyard-C"));
    }

    [Fact]
    public async Task Rows_whose_publish_failed_are_published_first_of_their_courtyard_by_the_next_process()
    {
        await using var harness = await Harness.StartAsync(o => o.PublishBackoff = new Backoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100)));
        harness.Transport.Broken["courtyard-A"] = 0;
        for (var s = 0; s < 5; s++)
        {
            await harness.CommitAsync("courtyard-A", s);
        }
        await Eventually.HoldsAsync(() => harness.Transport.RefusedAttempts.GetValueOrDefault("courtyard-A") >= 2, Within, "A refused");

        await harness.StartProducerAsync(o => { });   // "the process restarted"; the broker is fine again
        harness.Transport.Broken.Clear();
        for (var s = 5; s < 10; s++)
        {
            await harness.CommitAsync("courtyard-A", s);
        }

        await Eventually.HoldsAsync(() => harness.SeenOf("courtyard-A").Length == 10, Within, "A's ten events handled");
        Assert.Equal(Enumerable.Range(0, 10).Select(s => (long)s), harness.SeenOf("courtyard-A"));
        await harness.DrainedAsync();
        Assert.Equal(Enumerable.Range(1, 10).Select(id => EventIds.Format("councils", id)), harness.Transport.AcceptedFor("courtyard-A"));
    }
}
