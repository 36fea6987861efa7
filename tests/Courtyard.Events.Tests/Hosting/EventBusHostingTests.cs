using System.Collections.Concurrent;
using System.Net;
using Courtyard.Events.Hosting;
using Courtyard.Events.Testing;
using Courtyard.Events.Tests.Support;
using Courtyard.Events.V1;
using Courtyard.Storage;
using Courtyard.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Courtyard.Events.Tests;

/// <summary>Several services' buses in one host (the embedded host), each over the storage keyed by its name.</summary>
public sealed class EventBusHostingTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Two_services_in_one_host_exchange_events_each_over_its_own_storage_and_EventAdmin_serves_both()
    {
        await using var councilsDatabase = new TempDatabase("councils");
        await using var rulesDatabase = new TempDatabase("rules");
        var councils = await councilsDatabase.OpenAsync();
        var rules = await rulesDatabase.OpenAsync();
        var handled = new ConcurrentQueue<string>();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddKeyedSingleton("councils", councils);
        builder.Services.AddKeyedSingleton("rules", rules);
        builder.Services.AddEventBus("councils", _ => { });
        builder.Services.AddEventBus("rules", bus => bus.HandleWithoutStoredEffect<ThingHappened>("rules", (thing, _) =>
        {
            handled.Enqueue(thing.ThingId);
            return Task.CompletedTask;
        }), o => o.RelayEnabled = false);
        await using var app = builder.Build();
        app.MapEventBus();
        await app.StartAsync();
        try
        {
            var producer = app.Services.GetRequiredKeyedService<EventBus>("councils");
            Assert.Same(councils, producer.Storage);
            Assert.Same(rules, app.Services.GetRequiredKeyedService<EventBus>("rules").Storage);

            await producer.CommitThingAsync("courtyard-1", 0, 0);
            await Eventually.HoldsAsync(() => handled.Count == 1, Within, "rules handled the councils event");
            await Eventually.HoldsAsync(() => rules.Inbox.ContainsAsync(new InboxMark("rules", "councils", "councils-1")), Within, "the mark in rules' inbox");
            Assert.Null(await councils.State.ReadAsync("effect", "courtyard-1/0"));

            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var channel = GrpcChannel.ForAddress(address);
            var admin = new EventAdmin.EventAdminClient(channel);
            Assert.Empty((await admin.ListDeadLettersAsync(new ListDeadLettersRequest())).DeadLetters);
            var unnamed = await Assert.ThrowsAsync<RpcException>(() => admin.ReplayDeadLetterAsync(new ReplayDeadLetterRequest { Id = 1 }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, unnamed.StatusCode);
            Assert.StartsWith("本进程承载 2 个事件总线", unnamed.Status.Detail);
            Assert.Contains("name the service", unnamed.Status.Detail);
            var unknown = await Assert.ThrowsAsync<RpcException>(() => admin.ReleaseParkedEventAsync(new ReleaseParkedEventRequest { Service = "councils", OutboxId = 99 }).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public void A_service_name_is_added_once()
    {
        var services = new ServiceCollection();
        services.AddEventBus("councils", _ => { });

        var error = Assert.Throws<InvalidOperationException>(() => services.AddEventBus("councils", _ => { }));
        Assert.Contains("\"councils\"", error.Message);
    }
}
