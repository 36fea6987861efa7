// Councils in its own process, for the fault tests (tests/Courtyard.Councils.Tests/Faults):
//   --grpc-port N --silo-port N --gateway-port N --cluster ID [--redis HOST:PORT] --jwt-public-key BASE64(SubjectPublicKeyInfo)
//   [--seed-courtyard ID --households N]
// Prints one JSON line {"ready":true,"grpc":"http://127.0.0.1:N"} once it serves. Clustering is localhost, or Redis with
// --redis (two workers then serve one courtyard from one activation). Storage is the service's interim in-memory storage
// until the platform's durable storage lands: that line is the one to change (see the Councils README).
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Courtyard.Common.V1;
using Courtyard.Councils;
using Courtyard.Councils.Grpc;
using Courtyard.Councils.Hosting;
using Courtyard.Councils.IntegrationEvents;
using Courtyard.Directory.V1;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.IdentityModel.Tokens;

string Option(string name, string? fallback = null) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"{name} is required");

var grpcPort = int.Parse(Option("--grpc-port"));
var cluster = Option("--cluster");
var redis = Option("--redis", "");
var key = ECDsa.Create();
key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(Option("--jwt-public-key")), out _);

var builder = WebApplication.CreateBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, grpcPort, listen => listen.Protocols = HttpProtocols.Http2));
builder.UseOrleans(silo =>
{
    var siloPort = int.Parse(Option("--silo-port"));
    var gatewayPort = int.Parse(Option("--gateway-port"));
    if (redis.Length == 0)
        silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: cluster, clusterId: cluster);
    else
    {
        silo.UseRedisClustering(redis);
        silo.Configure<Orleans.Configuration.ClusterOptions>(options => (options.ServiceId, options.ClusterId) = (cluster, cluster));
        silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort);
        // Fast failure detection for local multi-process runs (DESIGN.md §3): ≈ 1 s instead of 11–14 s.
        silo.Configure<Orleans.Configuration.ClusterMembershipOptions>(options => (options.ProbeTimeout, options.NumMissedProbesLimit) = (TimeSpan.FromSeconds(1), 2));
    }
    silo.AddCouncilsInterimStorage();
});
builder.Services.AddGrpc(grpc => grpc.Interceptors.Add<RefusalInterceptor>());
builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(jwt =>
{
    jwt.MapInboundClaims = false;
    jwt.TokenValidationParameters = new TokenValidationParameters
    {
        ValidIssuer = "courtyard-test-directory", ValidAudience = "courtyard", IssuerSigningKey = new ECDsaSecurityKey(key),
        NameClaimType = "sub", RoleClaimType = "role",
    };
});
builder.AddCouncils();
var app = builder.Build();
app.UseAuthentication();
app.MapCouncils();
await app.StartAsync();

if (Option("--seed-courtyard", "") is { Length: > 0 } courtyardId)
{
    // The roll as the Directory's membership events would bring it (event ids fixed, so a second worker adds nothing).
    var membership = new MembershipEventHandlers(app.Services.GetRequiredService<IGrainFactory>());
    var territory = new TerritoryRef { StreetId = "st_test", CommunityId = "cm_test", CourtyardId = courtyardId };
    for (var i = 0; i < int.Parse(Option("--households", "10")); i++)
    {
        var household = $"hh_{courtyardId}_{i:D4}";
        await membership.Handle(new HouseholdChanged { HouseholdId = household, Ref = territory, ExclusiveAreaDm2 = 6000 + i * 3779 % 8000 }, $"ev_hh_{household}");
        await membership.Handle(new ResidentJoined
        {
            ResidentId = $"rs_{courtyardId}_{i:D4}_o", HouseholdId = household, Ref = territory, Relation = HouseholdRelation.Owner,
        }, $"ev_rs_{household}");
    }
}

Console.WriteLine(JsonSerializer.Serialize(new { ready = true, grpc = $"http://127.0.0.1:{grpcPort}" }));
await app.WaitForShutdownAsync();
