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

    /// <summary>
    /// The in-process transport, except that publishes of chosen courtyards fail while they are "broken": refused by the
    /// broker when <see cref="Refuse"/> is set, otherwise as if the broker could not be reached.
    /// </summary>
    private sealed class FlakyTransport(IEventTransport inner) : IEventTransport
    {
        public ConcurrentDictionary<string, int> Broken { get; } = new();
        public bool Refuse { get; set; }
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
            return new PublishResult(accepted.Accepted, new IOException(Refuse ? "broker refused the message" : "broker unreachable"), Refused: Refuse);
        }

        public Task<IAsyncDisposable> SubscribeAsync(Subscription subscription, CancellationToken cancellationToken) => inner.SubscribeAsync(subscription, cancellationToken);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    [Fact]
    public async Task A_courtyard_whose_broker_cannot_be_reached_waits_with_backoff_while_other_courtyards_flow_and_is_never_parked()
    {
        var transport = new FlakyTransport(new InProcessTransport());
        transport.Broken["courtyard-A"] = 1;
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<long>>();
        await using var services = await TwoServices.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, context) =>
        {
            seen.GetOrAdd(context.CourtyardId, _ => new()).Enqueue(thing.Sequence);
            return Task.CompletedTask;
        }), transport, producer =>
        {
            producer.PublishBackoff = new Backoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(200));
            producer.MaxPublishAttempts = 2;
        });

        for (var s = 0; s < 5; s++)
        {
            await services.CommitAsync("courtyard-A", s);
            await services.CommitAsync("courtyard-B", s);
        }

        await Eventually.HoldsAsync(() => seen.TryGetValue("courtyard-B", out var b) && b.Count == 5, Within, "courtyard B flows");
        await Eventually.HoldsAsync(() => transport.FailedAttempts.GetValueOrDefault("courtyard-A") >= 4, Within, "courtyard A retried");
        Assert.False(seen.ContainsKey("courtyard-A"));
        var waiting = await services.Producer.Storage.Outbox.ReadUnsentAsync(100);
        Assert.Equal(5, waiting.Count);
        Assert.All(waiting, row => Assert.Equal("courtyard-A", row.CourtyardId));
        Assert.All(waiting, row => Assert.Equal((0, null), (row.Attempts, row.ParkedAt)));   // an unreachable broker says nothing about the event

        transport.Broken.Clear();

        await Eventually.HoldsAsync(() => seen.TryGetValue("courtyard-A", out var a) && a.Count == 5, Within, "courtyard A drains after the transport heals");
        Assert.Equal([0L, 1, 2, 3, 4], seen["courtyard-A"]);
        Assert.Equal([0L, 1, 2, 3, 4], seen["courtyard-B"]);
    }

    [Fact]
    public async Task An_event_the_broker_keeps_refusing_is_parked_with_an_alert_its_courtyards_later_events_wait_and_release_or_discard_lets_them_go()
    {
        var parkedGauge = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == EventMetrics.Name) l.EnableMeasurementEvents(instrument); },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (tags.ToArray().Any(t => t.Value as string == "councils-parking"))
            {
                parkedGauge[instrument.Name] = instrument.Name == "courtyard.events.parked" ? parkedGauge.GetValueOrDefault(instrument.Name) + value : value;
            }
        });
        listener.Start();
        var transport = new FlakyTransport(new InProcessTransport()) { Refuse = true };
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<long>>();
        await using var services = await TwoServices.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, delivery) =>
        {
            seen.GetOrAdd(delivery.CourtyardId, _ => new()).Enqueue(thing.Sequence);
            return Task.CompletedTask;
        }), transport, producer =>
        {
            producer.PublishBackoff = new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(30));
            producer.MaxPublishAttempts = 3;
            producer.RelayPollInterval = TimeSpan.FromMilliseconds(50);
        }, producerSource: "councils-parking");

        await services.CommitAsync("courtyard-A", 0);
        await Eventually.HoldsAsync(() => seen.ContainsKey("courtyard-A"), Within, "A's first event published");
        transport.Broken["courtyard-A"] = 1;   // A's next event is one the broker refuses (too large, say)
        for (var s = 1; s < 4; s++)
        {
            await services.CommitAsync("courtyard-A", s);
            await services.CommitAsync("courtyard-B", s);
        }

        await Eventually.HoldsAsync(async () => (await services.Producer.ListParkedAsync(10)).Count == 1, Within, "A's refused event parked");
        var parked = Assert.Single(await services.Producer.ListParkedAsync(10));
        Assert.Equal(("courtyard-A", 3), (parked.CourtyardId, parked.Attempts));
        Assert.Contains("broker refused the message", parked.LastError);
        Assert.Equal(3, transport.FailedAttempts["courtyard-A"]);
        transport.Broken.Clear();   // the broker would take A's later events, but they wait behind the parked one
        await Eventually.HoldsAsync(() => seen.TryGetValue("courtyard-B", out var b) && b.Count == 3, Within, "B flows");
        await Eventually.HoldsAsync(() => { listener.RecordObservableInstruments(); return parkedGauge.GetValueOrDefault("courtyard.events.outbox.parked_rows") == 1; },
            Within, "the parked-rows gauge alerts");
        Assert.Equal(1, parkedGauge["courtyard.events.parked"]);
        await Task.Delay(300);
        Assert.Equal([0L], seen["courtyard-A"]);
        Assert.Equal(3, (await services.Producer.Storage.Outbox.GetStatsAsync()).Unsent);

        Assert.True(await services.Producer.ReleaseParkedAsync(parked.Id));
        await Eventually.HoldsAsync(() => seen["courtyard-A"].Count == 4, Within, "A drains after the release, in order");
        Assert.Equal([0L, 1, 2, 3], seen["courtyard-A"]);
        Assert.False(await services.Producer.ReleaseParkedAsync(parked.Id));

        // Discarding instead: the parked event is never published, the courtyard goes on without it.
        transport.Broken["courtyard-A"] = 1;
        await services.CommitAsync("courtyard-A", 4);
        await Eventually.HoldsAsync(async () => (await services.Producer.ListParkedAsync(10)).Count == 1, Within, "parked again");
        transport.Broken.Clear();
        await services.CommitAsync("courtyard-A", 5);
        var second = Assert.Single(await services.Producer.ListParkedAsync(10));
        Assert.True(await services.Producer.DiscardParkedAsync(second.Id));
        await Eventually.HoldsAsync(() => seen["courtyard-A"].Count == 5, Within, "A's next event published");
        Assert.Equal([0L, 1, 2, 3, 5], seen["courtyard-A"]);
        await Eventually.HoldsAsync(() => { listener.RecordObservableInstruments(); return parkedGauge["courtyard.events.outbox.parked_rows"] == 0; },
            Within, "the gauge back to 0");
    }

    [Fact]
    public async Task A_blocked_courtyard_with_17000_unsent_rows_does_not_hold_up_another_courtyards_10_events_with_default_settings()
    {
        var transport = new FlakyTransport(new InProcessTransport());
        transport.Broken["courtyard-A"] = 1;
        var seenB = new ConcurrentQueue<long>();
        await using var services = await TwoServices.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, delivery) =>
        {
            if (delivery.CourtyardId == "courtyard-B")
            {
                seenB.Enqueue(thing.Sequence);
            }
            return Task.CompletedTask;
        }), transport, producer => producer.RelayPollInterval = new EventBusOptions { Source = "x" }.RelayPollInterval);

        for (var chunk = 0; chunk < 17; chunk++)
        {
            await services.Producer.Storage.Outbox.AppendAsync(Enumerable.Range(chunk * 1000, 1000)
                .Select(s => EventCatalog.ToOutbox("courtyard-A", new ThingHappened { Sequence = s })).ToList());
        }
        services.Producer.Relay.Wake();
        await Eventually.HoldsAsync(() => transport.FailedAttempts.GetValueOrDefault("courtyard-A") >= 1, Within, "A is blocked");
        for (var s = 0; s < 10; s++)
        {
            await services.CommitAsync("courtyard-B", s);
        }

        await Eventually.HoldsAsync(() => seenB.Count == 10, TimeSpan.FromSeconds(10), $"B's 10 events handled within 10 s (have {seenB.Count})");
        Assert.Equal(Enumerable.Range(0, 10).Select(s => (long)s), seenB);
    }

    [Fact]
    public async Task Rows_committed_while_no_relay_ran_are_published_by_the_next_process_with_their_ids()
    {
        var ids = new ConcurrentBag<string>();
        await using var services = await TwoServices.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (_, context) =>
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
        await using var services = await TwoServices.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, _) =>
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
            rules.HandleWithoutStoredEffect<ThingHappened>("rules-metrics", (_, _) => Task.CompletedTask);
            rules.HandleWithoutStoredEffect<PoisonPill>("rules-metrics", (_, _) => throw new InvalidOperationException("no"));
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
