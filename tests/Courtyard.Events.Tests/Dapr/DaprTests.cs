using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Courtyard.Events.Dapr;
using Courtyard.Events.Hosting;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Events.V1;
using Courtyard.Storage;
using Courtyard.Testing;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Tests;

/// <summary>The Dapr transport on the Dapr SDK, against <see cref="FakeDaprSidecar"/> (gRPC publish, HTTP delivery).</summary>
public class DaprTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);
    private const string DaprToken = "dapr-token-1";
    private const string AppToken = "app-token-2";

    /// <summary>
    /// The consuming service "rules" hosted as a service would be (AddEventBus + MapEventBus on an HTTP/1.1 port), a
    /// producing service "councils" publishing through its own DaprClient, and the sidecar double between them.
    /// </summary>
    private sealed class DaprSetup : IAsyncDisposable
    {
        private readonly TempDatabase consumerDatabase = new("rules");
        private readonly TempDatabase producerDatabase = new("councils");
        private long version;

        public FakeDaprSidecar Sidecar { get; private set; } = null!;
        public WebApplication App { get; private set; } = null!;
        public EventBus Producer { get; private set; } = null!;
        public EventBus Consumer => App.Services.GetRequiredKeyedService<EventBus>("rules");
        public Uri AppAddress { get; private set; } = null!;

        public static async Task<DaprSetup> StartAsync(Action<EventBus> declare, int maxDeliveryAttempts = 5, Action<EventBusOptions>? producerOptions = null)
        {
            var setup = new DaprSetup();
            setup.Sidecar = await FakeDaprSidecar.StartAsync(DaprToken, AppToken);
            var consumerStorage = await setup.consumerDatabase.OpenAsync();

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Configuration["Courtyard:Events:Transport"] = "dapr";
            builder.Configuration["Courtyard:Events:Dapr:AppApiToken"] = AppToken;
            builder.Services.AddDaprClient(dapr => dapr.UseGrpcEndpoint(setup.Sidecar.GrpcEndpoint.ToString()).UseDaprApiToken(DaprToken));
            builder.Services.AddKeyedSingleton("rules", consumerStorage);
            builder.Services.AddEventBus("rules", declare, o =>
            {
                o.RelayEnabled = false;
                o.MaxDeliveryAttempts = maxDeliveryAttempts;
            });
            setup.App = builder.Build();
            setup.App.MapEventBus();
            await setup.App.StartAsync();
            setup.AppAddress = new Uri(setup.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

            var client = new DaprClientBuilder().UseGrpcEndpoint(setup.Sidecar.GrpcEndpoint.ToString()).UseDaprApiToken(DaprToken).Build();
            var options = new EventBusOptions { Source = "councils", RelayPollInterval = TimeSpan.FromMilliseconds(100) };
            producerOptions?.Invoke(options);
            setup.Producer = new EventBus(options, await setup.producerDatabase.OpenAsync(), new DaprTransport(client));
            await setup.Producer.StartAsync();

            setup.Sidecar.AppAddress = setup.AppAddress;
            (await setup.Sidecar.ReadSubscriptionsAsync()).EnsureSuccessStatusCode();
            return setup;
        }

        public async Task CommitAsync(string courtyard, long sequence) => version = await Producer.CommitThingAsync(courtyard, sequence, sequence == 0 ? 0 : version);

        public async ValueTask DisposeAsync()
        {
            await Producer.StopAsync();
            await App.StopAsync();
            await App.DisposeAsync();
            await Sidecar.DisposeAsync();
            await producerDatabase.DisposeAsync();
            await consumerDatabase.DisposeAsync();
        }
    }

    [Fact]
    public async Task Publishing_goes_over_grpc_with_the_whole_cloudevent_its_id_and_the_api_token()
    {
        await using var setup = await DaprSetup.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (_, _) => Task.CompletedTask));

        await setup.CommitAsync("courtyard-5", 0);

        await Eventually.HoldsAsync(async () => (await setup.Producer.Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "the sidecar accepted the publish");
        var publish = Assert.Single(setup.Sidecar.Publishes);
        Assert.Equal(("pubsub", "testing", "application/cloudevents+json", DaprToken), (publish.PubSubName, publish.Topic, publish.DataContentType, publish.ApiToken));
        var envelope = CloudEvent.Parse(Encoding.UTF8.GetBytes(publish.Data));
        Assert.Equal(("councils-1", "councils", "courtyard-5", TestEvents.ThingHappenedType), (envelope.Id, envelope.Source, envelope.Subject, envelope.Type));
    }

    [Fact]
    public async Task A_publish_the_sidecar_cannot_complete_stays_in_the_outbox_and_is_retried_with_the_same_id()
    {
        await using var setup = await DaprSetup.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (_, _) => Task.CompletedTask),
            producerOptions: o => o.PublishBackoff = new Backoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100)));
        setup.Sidecar.FailNextPublishes = 2;

        await setup.CommitAsync("courtyard-5", 0);

        await Eventually.HoldsAsync(async () => (await setup.Producer.Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "published on the third try");
        Assert.Equal(3, setup.Sidecar.Publishes.Count);
        Assert.Single(setup.Sidecar.Publishes.Select(p => CloudEvent.Parse(Encoding.UTF8.GetBytes(p.Data)).Id).Distinct());
        Assert.Empty(await setup.Producer.Storage.Outbox.ReadUnsentAsync(10));
    }

    [Fact]
    public async Task The_subscribe_document_comes_from_the_sdk_with_a_dead_letter_topic_that_has_its_own_route_and_routes_need_the_app_token()
    {
        await using var setup = await DaprSetup.StartAsync(rules =>
        {
            rules.HandleWithoutStoredEffect<ThingHappened>("rules", (_, _) => Task.CompletedTask);
            rules.HandleWithoutStoredEffect<PoisonPill>("rules", (_, _) => Task.CompletedTask);
        });

        var entries = setup.Sidecar.Subscriptions!.Select(e => e!.AsObject()).ToDictionary(e => e["topic"]!.GetValue<string>());
        Assert.Equal(["testing", "testing.dead-letter"], entries.Keys.Order());
        Assert.All(entries.Values, e => Assert.Equal("pubsub", FakeDaprSidecar.PubSubName(e)));
        Assert.Equal("testing.dead-letter", entries["testing"]["deadLetterTopic"]!.GetValue<string>());

        using var client = new HttpClient();
        var anonymous = await client.PostAsync(new Uri(setup.AppAddress, "/dapr/events/testing"), new StringContent("{}", null, "application/cloudevents+json"));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task Delivered_events_run_the_handler_once_even_when_dapr_delivers_the_same_id_again()
    {
        var runs = new ConcurrentDictionary<string, int>();
        await using var setup = await DaprSetup.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (_, delivery) =>
        {
            runs.AddOrUpdate(delivery.Event.Id, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }));

        await setup.CommitAsync("courtyard-1", 0);
        await setup.CommitAsync("courtyard-1", 1);
        await Eventually.HoldsAsync(() => setup.Sidecar.Deliveries.Count == 2, Within, "both delivered");

        await setup.Sidecar.RedeliverAsync("councils-1");
        await setup.Sidecar.RedeliverAsync("councils-1");

        Assert.Equal(3, setup.Sidecar.Deliveries.Count(d => d.Id == "councils-1"));
        Assert.All(setup.Sidecar.Deliveries, d => Assert.Equal((HttpStatusCode.OK, "SUCCESS"), (d.Status, d.AnsweredStatus)));
        Assert.Equal(1, runs["councils-1"]);
        Assert.Equal(1, runs["councils-2"]);
    }

    [Fact]
    public async Task A_failing_handler_answers_retry_until_it_succeeds_or_drop_once_it_is_dead_lettered_and_the_dead_letter_is_kept_once()
    {
        var flakyRuns = 0;
        await using var setup = await DaprSetup.StartAsync(rules =>
        {
            rules.HandleWithoutStoredEffect<ThingHappened>("rules", (_, _) => Interlocked.Increment(ref flakyRuns) < 3 ? throw new TimeoutException("database busy") : Task.CompletedTask);
            rules.HandleWithoutStoredEffect<PoisonPill>("rules", (_, _) => throw new InvalidOperationException("never works"));
        }, maxDeliveryAttempts: 3);

        await setup.CommitAsync("courtyard-1", 0);
        await Eventually.HoldsAsync(() => setup.Sidecar.Deliveries.Any(d => d.AnsweredStatus == "SUCCESS"), Within, "third attempt succeeded");
        Assert.Equal(["RETRY", "RETRY", "SUCCESS"], setup.Sidecar.Deliveries.Select(d => d.AnsweredStatus));

        await setup.Producer.PublishAsync("courtyard-2", new PoisonPill { Reason = "x" });
        await Eventually.HoldsAsync(() => setup.Sidecar.Deliveries.Any(d => d.Topic == "testing.dead-letter"), Within, "Dapr forwarded it to the dead-letter topic");
        Assert.Equal(["RETRY", "RETRY", "DROP"], setup.Sidecar.Deliveries.Where(d => d.Id == "councils-2" && d.Topic == "testing").Select(d => d.AnsweredStatus));
        var forwarded = Assert.Single(setup.Sidecar.Deliveries, d => d.Topic == "testing.dead-letter");
        Assert.Equal(("councils-2", "SUCCESS"), (forwarded.Id, forwarded.AnsweredStatus));   // acknowledged, not kept twice
        var letter = Assert.Single(await setup.Consumer.Storage.DeadLetters.ListAsync(null, 10));
        Assert.Equal(("councils-2", "rules", 3), (letter.EventId, letter.Consumer, letter.Attempts));
    }

    [Fact]
    public async Task A_route_nobody_maps_answers_404_so_dapr_drops_it()
    {
        await using var setup = await DaprSetup.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (_, _) => Task.CompletedTask));
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(setup.AppAddress, "/dapr/events/elsewhere"))
        {
            Content = new StringContent("""{"specversion":"1.0","id":"x-1","source":"x","type":"courtyard.x.y.v1","data":{}}""", null, "application/cloudevents+json"),
        };
        request.Headers.Add("dapr-api-token", AppToken);

        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task An_event_the_sidecar_keeps_refusing_is_parked_its_courtyard_waits_behind_it_and_releasing_it_publishes_in_order()
    {
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<long>>();
        await using var setup = await DaprSetup.StartAsync(rules => rules.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, delivery) =>
        {
            seen.GetOrAdd(delivery.CourtyardId, _ => new()).Enqueue(thing.Sequence);
            return Task.CompletedTask;
        }), producerOptions: o =>
        {
            o.MaxPublishAttempts = 3;
            o.PublishBackoff = new Backoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50));
        });
        setup.Sidecar.RefuseDataContaining = "courtyard-A/1";   // say, larger than the broker takes

        long a = 0, b = 0;
        for (var s = 0; s < 4; s++)
        {
            a = await setup.Producer.CommitThingAsync("courtyard-A", s, a);
            b = await setup.Producer.CommitThingAsync("courtyard-B", s, b);
        }

        await Eventually.HoldsAsync(async () => (await setup.Producer.ListParkedAsync(10)).Count == 1, Within, "the refused event parked");
        await Eventually.HoldsAsync(() => seen.TryGetValue("courtyard-B", out var q) && q.Count == 4, Within, "B flows");
        await Task.Delay(500);
        Assert.Equal([0L], seen["courtyard-A"]);   // A's later events wait behind the parked one
        Assert.Equal(3, setup.Sidecar.Publishes.Count(p => p.Data.Contains("courtyard-A/1", StringComparison.Ordinal)));

        await using var admin = await AdminServer.StartAsync(setup.Producer);
        var parked = Assert.Single((await admin.Client.ListParkedEventsAsync(new ListParkedEventsRequest())).ParkedEvents);
        Assert.Equal(("councils", "courtyard-A", 3), (parked.Service, parked.CourtyardId, parked.Attempts));
        Assert.Contains("message refused", parked.LastError);

        setup.Sidecar.RefuseDataContaining = null;   // the operator fixed the cause
        await admin.Client.ReleaseParkedEventAsync(new ReleaseParkedEventRequest { OutboxId = parked.OutboxId });

        await Eventually.HoldsAsync(() => seen["courtyard-A"].Count == 4, Within, "A drains after the release");
        // The relay published A in order (the order daprd then delivers in is its pub/sub component's).
        var publishedA = setup.Sidecar.Publishes.Select(p => CloudEvent.Parse(Encoding.UTF8.GetBytes(p.Data)))
            .Where(e => e.Subject == "courtyard-A").Select(e => e.Id).Distinct().ToList();
        Assert.Equal(["councils-1", "councils-3", "councils-5", "councils-7"], publishedA);
        Assert.Equal([0L, 1L, 2L, 3L], seen["courtyard-A"].Order());
        Assert.Empty((await admin.Client.ListParkedEventsAsync(new ListParkedEventsRequest())).ParkedEvents);
    }
}
