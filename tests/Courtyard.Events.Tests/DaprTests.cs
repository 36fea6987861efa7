using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Courtyard.Events.Dapr;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Events.Tests;

/// <summary>Dapr's HTTP sidecar protocol, against <see cref="FakeDaprSidecar"/>.</summary>
public class DaprTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);
    private const string DaprToken = "dapr-token-1";
    private const string AppToken = "app-token-2";

    /// <summary>The consuming app (MapDaprEvents on an HTTP/1.1 port) and a producing service, both talking to the fake sidecar.</summary>
    private sealed class DaprSetup : IAsyncDisposable
    {
        public required FakeDaprSidecar Sidecar { get; init; }
        public required WebApplication App { get; init; }
        public required TwoServices Services { get; init; }
        public required Uri AppAddress { get; init; }

        public static async Task<DaprSetup> StartAsync(Action<EventBus> declare, int maxDeliveryAttempts = 5)
        {
            var sidecar = await FakeDaprSidecar.StartAsync(DaprToken, AppToken);
            var transport = new DaprTransport(new DaprTransportOptions { SidecarAddress = sidecar.Address, DaprApiToken = DaprToken, AppApiToken = AppToken });
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            app.MapDaprEvents(transport);
            await app.StartAsync();
            var appAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            var services = await TwoServices.StartAsync(declare, transport, consumerOptions: o => o.MaxDeliveryAttempts = maxDeliveryAttempts);
            sidecar.AppAddress = appAddress;
            (await sidecar.ReadSubscriptionsAsync()).EnsureSuccessStatusCode();
            return new DaprSetup { Sidecar = sidecar, App = app, Services = services, AppAddress = appAddress };
        }

        public async ValueTask DisposeAsync()
        {
            await Services.DisposeAsync();
            await App.StopAsync();
            await App.DisposeAsync();
            await Sidecar.DisposeAsync();
        }
    }

    [Fact]
    public async Task Publishing_posts_the_whole_cloudevent_with_its_id_and_type_as_metadata_and_the_api_token()
    {
        await using var setup = await DaprSetup.StartAsync(rules => rules.Handle<ThingHappened>("rules", (_, _) => Task.CompletedTask));

        await setup.Services.CommitAsync("courtyard-5", 3);

        await Eventually.HoldsAsync(async () => (await setup.Services.Producer.Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "the sidecar accepted the publish");
        var publish = Assert.Single(setup.Sidecar.Publishes);
        Assert.Equal("/v1.0/publish/pubsub/testing", publish.Path);
        Assert.Contains("metadata.cloudevent.id=councils-1", publish.Query);
        Assert.Contains("metadata.cloudevent.type=courtyard.testing.thing_happened.v1", publish.Query);
        Assert.Equal("application/cloudevents+json", publish.ContentType);
        Assert.Equal(DaprToken, publish.ApiToken);
        var envelope = CloudEvent.Parse(System.Text.Encoding.UTF8.GetBytes(publish.Body));
        Assert.Equal(("councils-1", "councils", "courtyard-5"), (envelope.Id, envelope.Source, envelope.Subject));
    }

    [Fact]
    public async Task A_publish_the_sidecar_refuses_stays_in_the_outbox_and_is_retried()
    {
        await using var setup = await DaprSetup.StartAsync(rules => rules.Handle<ThingHappened>("rules", (_, _) => Task.CompletedTask));
        setup.Sidecar.FailNextPublishes = 2;

        await setup.Services.CommitAsync("courtyard-5", 3);

        await Eventually.HoldsAsync(async () => (await setup.Services.Producer.Storage.Outbox.GetStatsAsync()).Unsent == 0, Within, "published on the third try");
        Assert.Equal(3, setup.Sidecar.Publishes.Count);
        Assert.Single(setup.Sidecar.Publishes.Select(p => p.Query).Distinct());   // the same id each time
    }

    [Fact]
    public async Task The_subscribe_document_names_topic_routes_and_dead_letter_topic_and_needs_the_app_token()
    {
        await using var setup = await DaprSetup.StartAsync(rules =>
        {
            rules.Handle<ThingHappened>("rules", (_, _) => Task.CompletedTask);
            rules.Handle<PoisonPill>("rules", (_, _) => Task.CompletedTask);
        });

        var entry = Assert.Single(setup.Sidecar.Subscriptions!)!.AsObject();
        Assert.Equal("pubsub", entry["pubsubname"]!.GetValue<string>());
        Assert.Equal("testing", entry["topic"]!.GetValue<string>());
        Assert.Equal("testing.dead-letter", entry["deadLetterTopic"]!.GetValue<string>());
        var routes = entry["routes"]!.AsObject();
        Assert.Equal("/dapr/events/testing", routes["default"]!.GetValue<string>());
        Assert.Equal(
            ["event.type == \"courtyard.testing.poison_pill.v1\"", "event.type == \"courtyard.testing.thing_happened.v1\""],
            routes["rules"]!.AsArray().Select(r => r!["match"]!.GetValue<string>()));

        using var anonymous = new HttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri(setup.AppAddress, "/dapr/subscribe"))).StatusCode);
        var post = await anonymous.PostAsync(new Uri(setup.AppAddress, "/dapr/events/testing"), new StringContent("{}", null, "application/cloudevents+json"));
        Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
    }

    [Fact]
    public async Task Delivered_events_run_the_handler_once_even_when_dapr_delivers_the_same_id_again()
    {
        var runs = new ConcurrentDictionary<string, int>();
        await using var setup = await DaprSetup.StartAsync(rules => rules.Handle<ThingHappened>("rules", (_, context) =>
        {
            runs.AddOrUpdate(context.Event.Id, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }));

        await setup.Services.CommitAsync("courtyard-1", 0);
        await setup.Services.CommitAsync("courtyard-1", 1);
        await Eventually.HoldsAsync(() => setup.Sidecar.Deliveries.Count == 2, Within, "both delivered");

        await setup.Sidecar.RedeliverAsync("councils-1", "pubsub", "testing");
        await setup.Sidecar.RedeliverAsync("councils-1", "pubsub", "testing");

        Assert.Equal(3, setup.Sidecar.Deliveries.Count(d => d.Id == "councils-1"));
        Assert.All(setup.Sidecar.Deliveries, d => Assert.Equal((HttpStatusCode.OK, "SUCCESS"), (d.Status, d.AnsweredStatus)));
        Assert.Equal(1, runs["councils-1"]);
        Assert.Equal(1, runs["councils-2"]);
    }

    [Fact]
    public async Task A_failing_handler_answers_retry_until_it_succeeds_or_drop_once_it_is_dead_lettered()
    {
        var flakyRuns = 0;
        await using var setup = await DaprSetup.StartAsync(rules =>
        {
            rules.Handle<ThingHappened>("rules", (_, _) => Interlocked.Increment(ref flakyRuns) < 3 ? throw new TimeoutException("database busy") : Task.CompletedTask);
            rules.Handle<PoisonPill>("rules", (_, _) => throw new InvalidOperationException("never works"));
        }, maxDeliveryAttempts: 3);

        await setup.Services.CommitAsync("courtyard-1", 0);
        await Eventually.HoldsAsync(() => setup.Sidecar.Deliveries.Any(d => d.AnsweredStatus == "SUCCESS"), Within, "third attempt succeeded");
        Assert.Equal(["RETRY", "RETRY", "SUCCESS"], setup.Sidecar.Deliveries.Select(d => d.AnsweredStatus));

        await setup.Services.Producer.PublishAsync("courtyard-2", new PoisonPill { Reason = "x" });
        await Eventually.HoldsAsync(() => !setup.Sidecar.DeadLettered.IsEmpty, Within, "Dapr dropped it to the dead-letter topic");
        Assert.Equal(["RETRY", "RETRY", "DROP"], setup.Sidecar.Deliveries.Where(d => d.Id == "councils-2").Select(d => d.AnsweredStatus));
        Assert.Equal(("testing.dead-letter", "councils-2"), Assert.Single(setup.Sidecar.DeadLettered));
        var letter = Assert.Single(await setup.Services.Consumer.Storage.DeadLetters.ListAsync("rules", 10));
        Assert.Equal("councils-2", letter.EventId);
        Assert.Equal(3, letter.Attempts);
    }

    [Fact]
    public async Task An_event_for_a_topic_nobody_here_subscribes_to_is_answered_404_so_dapr_drops_it()
    {
        await using var setup = await DaprSetup.StartAsync(rules => rules.Handle<ThingHappened>("rules", (_, _) => Task.CompletedTask));
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(setup.AppAddress, "/dapr/events/elsewhere"))
        {
            Content = new StringContent(JsonSerializer.Serialize(new { specversion = "1.0", id = "x-1", source = "x", type = "courtyard.x.y.v1", data = new { } }),
                null, "application/cloudevents+json"),
        };
        request.Headers.Add("dapr-api-token", AppToken);
        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(request)).StatusCode);
    }
}
