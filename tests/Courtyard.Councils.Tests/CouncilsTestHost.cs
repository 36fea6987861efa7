using Courtyard.Authorization.Claims;
using Courtyard.Authorization.Tokens;
using Courtyard.Councils.V1;
using Courtyard.Events;
using Courtyard.Events.Transports;
using Courtyard.Testing.Authorization;
using Courtyard.Testing.Services;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Courtyard.Councils.Tests;

/// <summary>
/// Councils as it runs for real, in-process: its Program's composition (ServiceDefaults, AddCouncils, MapCouncils) on a
/// free h2c port, an Orleans silo, its own SQLite file or PostgreSQL database, the in-process event bus, and Courtyard
/// authorization trusting the key of <see cref="Tokens"/>. Tests call it through gRPC as a given caller, and fill a
/// courtyard's roll the way production does: Directory's membership events delivered through the event transport
/// (<see cref="DeliverFromDirectoryAsync{T}"/>).
/// </summary>
public sealed class CouncilsTestHost : IAsyncDisposable
{
    private readonly ServiceTestHost host;

    private CouncilsTestHost(ServiceTestHost host, TestTokens tokens)
    {
        this.host = host;
        Tokens = tokens;
        Client = new Councils.V1.Councils.CouncilsClient(host.Channel);
    }

    public Councils.V1.Councils.CouncilsClient Client { get; }

    public TestTokens Tokens { get; }

    public ServiceTestHost Host => host;

    public IServiceProvider Services => host.Services;

    public IGrainFactory Grains => host.Grains;

    public static async Task<CouncilsTestHost> StartAsync(TimeProvider? time = null, TestStorage storage = TestStorage.Sqlite)
    {
        var tokens = new TestTokens();
        var host = await ServiceTestHost.StartAsync(CouncilsNames.Service,
            builder =>
            {
                // Directory is not in this process: tokens are checked against the test's key.
                builder.Services.AddSingleton<ISigningKeySource>(tokens.KeySource);
                if (time is not null) builder.Services.AddSingleton(new CouncilsClock(time));
                builder.AddCouncils();
            },
            app => app.MapCouncils(),
            storage);
        return new CouncilsTestHost(host, tokens);
    }

    /// <summary>Call options for a signed-in account holding <paramref name="grants"/>, with places on the rolls as <paramref name="residentIds"/>.</summary>
    public CallOptions As(string accountId, IEnumerable<GrantClaim> grants, params string[] residentIds) =>
        new(new Metadata { { "authorization", "Bearer " + Tokens.Mint(accountId, grants, residentIds) } }, deadline: DateTime.UtcNow.AddSeconds(60));

    public static CallOptions Anonymous => new(deadline: DateTime.UtcNow.AddSeconds(60));

    /// <summary>The integration events of one type Councils committed so far (its outbox rows), parsed.</summary>
    public async Task<List<T>> EventsAsync<T>() where T : IMessage<T>, new()
    {
        var type = EventCatalog.Get<T>().Type;
        var parser = new MessageParser<T>(() => new T());
        return (await host.CommittedEventsAsync(CouncilsNames.Service)).Where(e => e.EventType == type).Select(e => parser.ParseJson(e.Payload)).ToList();
    }

    /// <summary>One of Directory's events as its relay publishes it: a CloudEvent from source "directory".</summary>
    public static (string Topic, CloudEvent Event) FromDirectory<T>(string courtyardId, T message, string? eventId = null) where T : IMessage<T>
    {
        var row = EventCatalog.ToOutbox(courtyardId, message);
        return (row.Topic, new CloudEvent
        {
            Id = eventId ?? "directory-test-" + Guid.NewGuid().ToString("N"), Source = "directory", Type = row.EventType,
            Subject = courtyardId, Time = DateTimeOffset.UtcNow, Data = row.Payload,
        });
    }

    /// <summary>
    /// Delivers one of Directory's events to this process's subscribers through the event transport, as Directory's
    /// relay would, and returns once they settled (handled, or found handled before). The same <paramref name="eventId"/>
    /// again is a redelivery.
    /// </summary>
    public async Task DeliverFromDirectoryAsync<T>(string courtyardId, T message, string? eventId = null) where T : IMessage<T>
    {
        var (topic, cloudEvent) = FromDirectory(courtyardId, message, eventId);
        var result = await Services.GetRequiredService<IEventTransport>().PublishAsync([OutgoingEvent.Create(topic, cloudEvent)], CancellationToken.None);
        if (result.Accepted != 1)
        {
            throw new InvalidOperationException($"{cloudEvent.Type} {cloudEvent.Id} was not delivered: {result.Error?.Message}");
        }
    }

    /// <summary>Deactivates every grain, so the next call activates it again from storage.</summary>
    public async Task DeactivateAllGrainsAsync()
    {
        await Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
    }

    public ValueTask DisposeAsync() => host.DisposeAsync();
}
