using System.Collections.Concurrent;
using System.Diagnostics;
using Courtyard.Events.Inbox;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Testing;
using Courtyard.Events.Transports;
using Courtyard.Storage;

namespace Courtyard.Events.Tests;

/// <summary>The embedded default: two services' buses over SQLite and the in-process transport.</summary>
public class InProcessBusTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Events_committed_with_state_reach_the_handler_once_each_in_order_per_courtyard()
    {
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<long>>();
        var contexts = new ConcurrentBag<(string Id, string Subject, string? TraceParent, InboxMark Mark)>();
        await using var services = await TwoServices.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, context) =>
        {
            seen.GetOrAdd(context.CourtyardId, _ => new()).Enqueue(thing.Sequence);
            contexts.Add((context.Event.Id, context.Event.Subject, context.Event.TraceParent, context.EventMark));
            return Task.CompletedTask;
        }));

        using var activity = new Activity("resident raised a matter").SetIdFormat(ActivityIdFormat.W3C).Start();
        const int courtyards = 8, perCourtyard = 25;
        var commits = new List<Task>();
        for (var c = 0; c < courtyards; c++)
        {
            var courtyard = $"courtyard-{c}";
            commits.Add(Task.Run(async () =>
            {
                for (var s = 0; s < perCourtyard; s++)
                {
                    await services.CommitAsync(courtyard, s);
                }
            }));
        }
        await Task.WhenAll(commits);

        await Eventually.HoldsAsync(() => seen.Values.Sum(q => q.Count) >= courtyards * perCourtyard, Within, "every event handled");
        for (var c = 0; c < courtyards; c++)
        {
            Assert.Equal(Enumerable.Range(0, perCourtyard).Select(i => (long)i), seen[$"courtyard-{c}"]);
        }
        Assert.Equal(courtyards * perCourtyard, contexts.Select(c => c.Id).Distinct().Count());
        Assert.All(contexts, c =>
        {
            Assert.Matches("^councils-[0-9]+$", c.Id);
            Assert.StartsWith("courtyard-", c.Subject);
            Assert.Equal(activity.Id, c.TraceParent);
            Assert.Equal(new InboxMark("rules", "councils", c.Id), c.Mark);
        });
        // The dispatcher recorded every mark, and the relay marked every row sent.
        Assert.True(await services.Consumer.Storage.Inbox.ContainsAsync(contexts.First().Mark));
        await Eventually.HoldsAsync(async () => (await services.Producer.Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "outbox drained");
    }

    [Fact]
    public async Task A_repeated_delivery_is_answered_success_from_the_inbox_without_running_the_handler()
    {
        var runs = 0;
        await using var services = await TwoServices.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (_, _) =>
        {
            Interlocked.Increment(ref runs);
            return Task.CompletedTask;
        }));
        var cloudEvent = new CloudEvent
        {
            Id = "councils-77", Source = "councils", Type = TestEvents.ThingHappenedType, Subject = "courtyard-1",
            Data = EventCatalog.FormatData(new ThingHappened { ThingId = "x", Sequence = 1 }),
        };
        var outgoing = OutgoingEvent.Create(TestEvents.Topic, cloudEvent);

        var first = await services.Transport.PublishAsync([outgoing], CancellationToken.None);
        var again = await services.Transport.PublishAsync([outgoing, outgoing], CancellationToken.None);

        Assert.Equal(1, first.Accepted);
        Assert.Equal(2, again.Accepted);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task An_effect_committed_with_the_mark_is_applied_once_even_when_the_handler_fails_after_it()
    {
        var runs = 0;
        await using var services = await TwoServices.StartAsync(rules => rules.Handle<ThingHappened>("rules", async (thing, context) =>
        {
            Interlocked.Increment(ref runs);
            await TestEvents.ApplyEffectAsync(rules.Storage, thing.ThingId, context.TakeMark());
            if (context.DeliveryAttempt == 1)
            {
                throw new IOException("lost the connection after committing (as if the process died before the ack)");
            }
        }));

        await services.CommitAsync("courtyard-3", 0);

        await Eventually.HoldsAsync(async () => (await services.Producer.Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "event settled");
        Assert.Equal(1, await TestEvents.ReadEffectCountAsync(services.Consumer.Storage, "courtyard-3/0"));
        Assert.Equal(1, runs);   // the redelivery was answered from the inbox
    }

    [Fact]
    public async Task A_handler_that_keeps_failing_dead_letters_its_event_while_others_flow_and_replay_works_once_fixed()
    {
        var fixedHandler = false;
        var handled = new ConcurrentBag<string>();
        var poisonRuns = 0;
        await using var services = await TwoServices.StartAsync(rules =>
        {
            rules.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, _) =>
            {
                handled.Add(thing.ThingId);
                return Task.CompletedTask;
            });
            rules.HandleWithoutStoredEffect<PoisonPill>("rules", (pill, _) =>
            {
                Interlocked.Increment(ref poisonRuns);
                return fixedHandler ? Task.CompletedTask : throw new InvalidOperationException("规则库不可用: " + pill.Reason);
            });
        }, consumerOptions: o => o.MaxDeliveryAttempts = 3);

        await services.Producer.Storage.Outbox.AppendAsync([EventCatalog.ToOutbox("courtyard-9", new PoisonPill { Reason = "bad" })]);
        for (var i = 0; i < 20; i++)
        {
            await services.CommitAsync($"courtyard-{i % 4}", i / 4);
        }
        services.Producer.Relay.Wake();

        await Eventually.HoldsAsync(() => handled.Count == 20, Within, "the other events handled");
        await Eventually.HoldsAsync(async () => await services.Consumer.Storage.DeadLetters.CountAsync() == 1, Within, "the poison event dead-lettered");
        var letter = Assert.Single(await services.Consumer.Storage.DeadLetters.ListAsync("rules", 10));
        Assert.Equal(3, poisonRuns);
        Assert.Equal(3, letter.Attempts);
        Assert.Equal(TestEvents.PoisonPillType, letter.EventType);
        Assert.Equal("councils", letter.Source);
        Assert.Equal("courtyard-9", letter.CourtyardId);
        Assert.Contains("规则库不可用", letter.LastError);

        var stillBroken = await Assert.ThrowsAsync<InvalidOperationException>(() => services.Consumer.ReplayDeadLetterAsync(letter.Id));
        Assert.Contains("规则库不可用", stillBroken.Message);
        Assert.Equal(1, await services.Consumer.Storage.DeadLetters.CountAsync());

        fixedHandler = true;
        Assert.Equal(HandleOutcome.Handled, await services.Consumer.ReplayDeadLetterAsync(letter.Id));
        Assert.Equal(0, await services.Consumer.Storage.DeadLetters.CountAsync());
        Assert.True(await services.Consumer.Storage.Inbox.ContainsAsync(new InboxMark("rules", letter.Source, letter.EventId)));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => services.Consumer.ReplayDeadLetterAsync(letter.Id));
    }

    [Fact]
    public async Task Each_consumer_has_its_own_inbox()
    {
        var byConsumer = new ConcurrentDictionary<string, int>();
        await using var services = await TwoServices.StartAsync(rules =>
        {
            rules.HandleWithoutStoredEffect<ThingHappened>("rules", (_, c) => { byConsumer.AddOrUpdate(c.Consumer, 1, (_, n) => n + 1); return Task.CompletedTask; });
            rules.HandleWithoutStoredEffect<ThingHappened>("rules-audit", (_, c) => { byConsumer.AddOrUpdate(c.Consumer, 1, (_, n) => n + 1); return Task.CompletedTask; });
        });

        await services.CommitAsync("courtyard-1", 0);
        await services.CommitAsync("courtyard-1", 1);

        await Eventually.HoldsAsync(() => byConsumer.Values.Sum() == 4, Within, "both consumers handled both events");
        Assert.Equal(2, byConsumer["rules"]);
        Assert.Equal(2, byConsumer["rules-audit"]);
    }
}
