using System.Net;
using Courtyard.Events.Hosting;
using Courtyard.Events.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Events.Tests.Support;

/// <summary>EventAdmin (Grpc.AspNetCore) over the given buses, on a dynamic h2c loopback port, with its generated client.</summary>
public sealed class AdminServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly GrpcChannel channel;

    private AdminServer(WebApplication app, GrpcChannel channel)
    {
        this.app = app;
        this.channel = channel;
        Client = new EventAdmin.EventAdminClient(channel);
    }

    public EventAdmin.EventAdminClient Client { get; }

    public static async Task<AdminServer> StartAsync(params EventBus[] buses)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new EventBusRegistry(buses));
        builder.Services.AddSingleton<EventAdminService>();
        var app = builder.Build();
        app.MapGrpcService<EventAdminService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new AdminServer(app, GrpcChannel.ForAddress(address));
    }

    public async ValueTask DisposeAsync()
    {
        channel.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
