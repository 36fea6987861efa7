using System.Net;
using Courtyard.Authorization.Claims;
using Courtyard.Authorization.Enforcement;
using Courtyard.Authorization.Territory;
using Courtyard.Authorization.Tokens;
using Courtyard.Common.V1;
using Courtyard.Directory.V1;
using Courtyard.Events.V1;
using Courtyard.Testing.Authorization;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Authorization.Tests.Enforcement;

/// <summary>
/// The building block in a service of its own (not Directory): gRPC's health and reflection answer without a token; a
/// service nobody declared a table for is refused to everyone, signed in or not.
/// </summary>
public sealed class EnforcementTests : IAsyncLifetime
{
    private readonly TestTokens tokens = new();
    private WebApplication app = null!;
    private GrpcChannel channel = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton(tokens.KeySource);
        builder.Services.AddSingleton<ITerritoryPlacements, NoPlacements>();
        builder.AddCourtyardAuthorization();
        builder.Services.AddGrpcHealthChecks().AddCheck("self", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
        builder.Services.AddGrpcReflection();
        app = builder.Build();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapGrpcService<UndeclaredEventAdmin>();
        await app.StartAsync();
        channel = GrpcChannel.ForAddress(app.Urls.Single());
    }

    public async Task DisposeAsync()
    {
        channel.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    [Fact]
    public async Task Health_answers_without_a_token()
    {
        var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task Reflection_answers_without_a_token()
    {
        var client = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(channel);
        using var call = client.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Contains(call.ResponseStream.Current.ListServicesResponse.Service, s => s.Name == "grpc.health.v1.Health");
    }

    [Fact]
    public async Task A_service_without_a_declared_table_is_refused_even_to_a_platform_admin()
    {
        var client = new EventAdmin.EventAdminClient(channel);
        string admin = tokens.Mint("ac_admin", [new GrantClaim(Role.PlatformAdmin, GrantClaim.Everywhere)]);

        var anonymous = await Assert.ThrowsAsync<RpcException>(() => client.ListDeadLettersAsync(new ListDeadLettersRequest()).ResponseAsync);
        var signedIn = await Assert.ThrowsAsync<RpcException>(() => client.ListDeadLettersAsync(new ListDeadLettersRequest(),
            new Metadata { { "authorization", "Bearer " + admin } }).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, anonymous.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, signedIn.StatusCode);
        Assert.Equal("undeclared", signedIn.Trailers.GetValue(RpcAccessInterceptor.DecisionTrailer));
        Assert.Contains("未声明访问规则", signedIn.Status.Detail);
    }

    private sealed class UndeclaredEventAdmin : EventAdmin.EventAdminBase
    {
        public override Task<ListDeadLettersResponse> ListDeadLetters(ListDeadLettersRequest request, ServerCallContext context) =>
            Task.FromResult(new ListDeadLettersResponse());
    }

    private sealed class NoPlacements : ITerritoryPlacements
    {
        public ValueTask<TerritoryRef?> FindAsync(string nodeId, CancellationToken cancellationToken) => ValueTask.FromResult<TerritoryRef?>(null);
    }
}
