using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Testing;
using Courtyard.Events.Transports;

namespace Courtyard.Events.Tests;

public class OutboxRelayTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);

    /// <summary>The in-process transport, except that publishes of chosen partitions fail while they are "broken".</summary>
    private sealed class FlakyTransport(IEventTransport inner) : IEventTransport
    {
        public ConcurrentDictionary<string, int> Broken { get; } = new();
        public ConcurrentDictionary<string, int> FailedAttempts { get; } = new();
        public string Name => "flaky";

        public async Task<PublishResult> PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
        {
            var firstBroken = events.ToList().FindIndex(e => Broken.ContainsKey(e.Event.Subject));
            if (firstBroken < 0)
            {
                return await inner.PublishAsync(events, cancellationToken);
            }
            FailedAttempts.AddOrUpdate(events[firstBroken].Event.Subject, 1, (_, n) => n + 1);
            var accepted = firstBroken == 0 ? new PublishResult(0, null) : await inner.PublishAsync(events.Take(firstBroken).ToList(), cancellationToken);
            return new PublishResult(accepted.Accepted, new IOException("broker refused the message"));
        }

        public Task<IAsyncDisposable> SubscribeAsync(Subscription subscription, CancellationToken cancellationToken) => inner.SubscribeAsync(subscription, cancellationToken);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    [Fact]
    public async Task A_partition_whose_publish_fails_waits_with_backoff_while_other_partitions_keep_flowing()
    {
        var transport = new FlakyTransport(new InProcessTransport());
        transport.Broken["courtyard-A"] = 1;
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<long>>();
        await using var services = await TwoServices.StartAsync(rules => rules.Handle<ThingHappened>("rules", (thing, context) =>
        {
            seen.GetOrAdd(context.CourtyardId, _ => new()).Enqueue(thing.Sequence);
            return Task.CompletedTask;
        }), transport, producer => producer.PublishBackoff = new Backoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(200)));

        for (var s = 0; s < 5; s++)
        {
            await services.CommitAsync("courtyard-A", s);
            await services.CommitAsync("courtyard-B", s);
        }

        await Eventually.HoldsAsync(() => seen.TryGetValue("courtyard-B", out var b) && b.Count == 5, Within, "partition B flows");
        await Eventually.HoldsAsync(() => transport.FailedAttempts.GetValueOrDefault("courtyard-A") >= 3, Within, "partition A retried");
        Assert.False(seen.ContainsKey("courtyard-A"));
        var waiting = await services.Producer.Storage.Outbox.ReadUnsentAsync(100);
        Assert.Equal(5, waiting.Count);
        Assert.All(waiting, row => Assert.Equal("courtyard-A", row.CourtyardId));
        Assert.True(waiting[0].Attempts >= 2, "failed attempts are recorded on the blocked row");

        transport.Broken.Clear();

        await Eventually.HoldsAsync(() => seen.TryGetValue("courtyard-A", out var a) && a.Count == 5, Within, "partition A drains after the transport heals");
        Assert.Equal([0L, 1, 2, 3, 4], seen["courtyard-A"]);
        Assert.Equal([0L, 1, 2, 3, 4], seen["courtyard-B"]);
    }

    [Fact]
    public async Task Rows_committed_while_no_relay_ran_are_published_by_the_next_process_with_their_ids()
    {
        var ids = new ConcurrentBag<string>();
        await using var services = await TwoServices.StartAsync(rules => rules.Handle<ThingHappened>("rules", (_, context) =>
        {
            ids.Add(context.Event.Id);
            return Task.CompletedTask;
        }), producerOptions: o => o.RelayEnabled = false);

        for (var s = 0; s < 20; s++)
        {
            await services.CommitAsync($"courtyard-{s % 3}", s);
        }
        var committed = await services.Producer.Storage.Outbox.ReadUnsentAsync(100);
        Assert.Equal(20, committed.Count);

        await services.StartProducerAsync();   // "the process restarted"

        await Eventually.HoldsAsync(() => ids.Count >= 20, Within, "the backlog published");
        Assert.Equal(committed.Select(row => $"councils-{row.Id}").Order(), ids.Order());
    }

    [Fact]
    public async Task A_commit_wakes_the_relay_at_once_and_polling_finds_rows_nobody_signalled()
    {
        var handled = new ConcurrentBag<long>();
        await using var services = await TwoServices.StartAsync(rules => rules.Handle<ThingHappened>("rules", (thing, _) =>
        {
            handled.Add(thing.Sequence);
            return Task.CompletedTask;
        }), producerOptions: o => o.RelayPollInterval = TimeSpan.FromMinutes(10));

        await services.CommitAsync("courtyard-1", 1);   // signals the relay
        await Eventually.HoldsAsync(() => handled.Contains(1), TimeSpan.FromSeconds(5), "the signalled row published long before the next poll");

        await services.StartProducerAsync(o => o.RelayPollInterval = TimeSpan.FromMilliseconds(100));
        await services.Producer.Storage.Outbox.AppendAsync([EventCatalog.ToOutbox("courtyard-1", new ThingHappened { Sequence = 2 })]);   // no signal
        await Eventually.HoldsAsync(() => handled.Contains(2), TimeSpan.FromSeconds(5), "the unsignalled row found by polling");
    }

    [Fact]
    public async Task Metrics_report_publishing_handling_dead_letters_and_outbox_lag()
    {
        var counters = new ConcurrentDictionary<string, long>();
        var lag = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == EventMetrics.Name) l.EnableMeasurementEvents(instrument); },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var owner = tags.ToArray().Select(t => t.Value as string).FirstOrDefault(v => v is "councils-metrics" or "rules-metrics");
            if (owner is null)
            {
                return;
            }
            if (instrument.Name == "courtyard.events.outbox.lag")
            {
                lag[owner] = value;
            }
            else
            {
                counters.AddOrUpdate(instrument.Name, value, (_, n) => n + value);
            }
        });
        listener.Start();

        await using var services = await TwoServices.StartAsync(rules =>
        {
            rules.Handle<ThingHappened>("rules-metrics", (_, _) => Task.CompletedTask);
            rules.Handle<PoisonPill>("rules-metrics", (_, _) => throw new InvalidOperationException("no"));
        }, producerOptions: o => { o.RelayEnabled = false; }, consumerOptions: o => o.MaxDeliveryAttempts = 2);
        var producer = new EventBus(new EventBusOptions { Source = "councils-metrics" }, services.Producer.Storage, services.Transport);
        for (var s = 0; s < 3; s++)
        {
            await services.CommitAsync("courtyard-1", s);
        }
        await services.Producer.Storage.Outbox.AppendAsync([EventCatalog.ToOutbox("courtyard-2", new PoisonPill())]);

        producer.StartRelay();
        try
        {
            await Eventually.HoldsAsync(() => { listener.RecordObservableInstruments(); return lag.GetValueOrDefault("councils-metrics", -1) == 4; },
                Within, "outbox lag of 4 observed");
            await Eventually.HoldsAsync(() => counters.GetValueOrDefault("courtyard.events.dead_letters") == 1, Within, "dead letter counted");
            await Eventually.HoldsAsync(() => { listener.RecordObservableInstruments(); return lag["councils-metrics"] == 0; }, Within, "lag back to 0");
            Assert.Equal(4, counters["courtyard.events.published"]);
            Assert.Equal(3, counters["courtyard.events.handled"]);
            Assert.Equal(1, counters["courtyard.events.redeliveries"]);
        }
        finally
        {
            await producer.StopAsync();
        }
    }
}
