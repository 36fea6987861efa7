using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Courtyard.Councils.Grpc;
using Courtyard.Councils.Hosting;
using Courtyard.Councils.IntegrationEvents;
using Courtyard.Councils.V1;
using Courtyard.Storage;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;

namespace Courtyard.Councils.Tests;

/// <summary>
/// Councils in a test WebApplication: Kestrel on a free h2c port, an in-process silo (localhost clustering, the interim
/// in-memory storage), JWT bearer authentication with a key of its own, and a Grpc.Net.Client channel to it. Tests call
/// the service through <see cref="Client"/> as a given resident with <see cref="As"/>.
/// </summary>
public sealed class CouncilsTestHost : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly GrpcChannel channel;
    private readonly TestTokens tokens;

    private CouncilsTestHost(WebApplication app, GrpcChannel channel, TestTokens tokens)
    {
        this.app = app;
        this.channel = channel;
        this.tokens = tokens;
        Client = new Councils.V1.Councils.CouncilsClient(channel);
    }

    public Councils.V1.Councils.CouncilsClient Client { get; }

    public IServiceProvider Services => app.Services;

    public IGrainFactory Grains => app.Services.GetRequiredService<IGrainFactory>();

    public MembershipEventHandlers Membership => new(Grains);

    /// <summary>The integration events committed so far.</summary>
    public IReadOnlyCollection<OutboxMessage> Outbox => app.Services.GetRequiredService<InterimOutbox>().Committed;

    public static async Task<CouncilsTestHost> StartAsync(TimeProvider? time = null)
    {
        var tokens = new TestTokens();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        if (Environment.GetEnvironmentVariable("COUNCILS_TEST_LOGS") == "1") builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        var (siloPort, gatewayPort) = (FreePort(), FreePort());
        var cluster = "councils-test-" + Guid.NewGuid().ToString("N")[..8];
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort, gatewayPort, serviceId: cluster, clusterId: cluster)
            .AddCouncilsInterimStorage());
        builder.Services.AddGrpc(grpc => grpc.Interceptors.Add<RefusalInterceptor>());
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(jwt =>
        {
            jwt.MapInboundClaims = false;
            jwt.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = TestTokens.Issuer, ValidAudience = TestTokens.Audience, IssuerSigningKey = tokens.Key, NameClaimType = "sub", RoleClaimType = "role",
            };
        });
        if (time is not null) builder.Services.AddSingleton(new CouncilsClock(time));
        builder.AddCouncils();
        var app = builder.Build();
        app.UseAuthentication();
        app.MapCouncils();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new CouncilsTestHost(app, GrpcChannel.ForAddress(address), tokens);
    }

    /// <summary>Call options for a signed-in resident holding roles such as "committee_chair:cy_1".</summary>
    public CallOptions As(string residentId, params string[] roles) => tokens.As(residentId, roles);

    public static CallOptions Anonymous => TestTokens.Anonymous;

    /// <summary>The integration events of one type committed so far, parsed.</summary>
    public List<T> Events<T>() where T : IMessage<T>, new()
    {
        var type = new T().Descriptor.GetOptions().GetExtension(Common.V1.IntegrationEventExtensions.IntegrationEvent).Type;
        var parser = new MessageParser<T>(() => new T());
        return Outbox.Where(message => message.EventType == type).Select(message => JsonParser.Default.Parse<T>(message.Payload)).ToList();
    }

    /// <summary>Deactivates every grain, so the next call activates it again from storage.</summary>
    public async Task DeactivateAllGrainsAsync()
    {
        await Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
    }

    public async ValueTask DisposeAsync()
    {
        channel.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
