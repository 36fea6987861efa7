// Councils in its own process, for the fault tests (tests/Courtyard.Councils.Tests/Faults): the service exactly as its
// Program.cs composes it (ServiceDefaults + AddCouncils), configured from the command line:
//   --grpc-port N --silo-port N --cluster ID --data-dir DIR --jwt-public-key BASE64(SubjectPublicKeyInfo)
//   [--redis HOST:PORT] [--postgres CONNECTION-STRING] [--seed-courtyard ID --households N]
// Prints one JSON line {"ready":true,"grpc":"http://127.0.0.1:N"} once it serves. Storage is SQLite in --data-dir, or
// PostgreSQL; clustering is localhost, or Redis with --redis (two workers then serve one courtyard from one activation).
using System.Security.Cryptography;
using System.Text.Json;
using Courtyard.Authorization.Tokens;
using Courtyard.Common.V1;
using Courtyard.Councils;
using Courtyard.Directory.V1;
using Courtyard.Events;
using Courtyard.Events.Transports;
using Courtyard.ServiceDefaults;
using Google.Protobuf;
using Microsoft.IdentityModel.Tokens;

string Option(string name, string? fallback = null) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"{name} is required");

var grpcPort = int.Parse(Option("--grpc-port"));
var redis = Option("--redis", "");
var postgres = Option("--postgres", "");
var settings = new Dictionary<string, string?>
{
    ["Courtyard:GrpcPort"] = $"{grpcPort}",
    ["Courtyard:HttpPort"] = "0",
    ["Courtyard:DataDir"] = Option("--data-dir"),
    ["Courtyard:Orleans:SiloPort"] = Option("--silo-port"),
    ["Courtyard:Orleans:ClusterId"] = Option("--cluster"),
    ["Logging:LogLevel:Default"] = "Warning",
};
if (redis.Length > 0)
{
    settings["Courtyard:Orleans:Clustering"] = "redis";
    settings["Courtyard:Orleans:RedisConnectionString"] = redis;
}
if (postgres.Length > 0)
{
    settings["Courtyard:Storage:Provider"] = "postgres";
    settings[$"ConnectionStrings:{CouncilsNames.Storage}"] = postgres;
}
var key = ECDsa.Create();
key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(Option("--jwt-public-key")), out _);

var builder = WebApplication.CreateSlimBuilder(args);
builder.Configuration.AddInMemoryCollection(settings);
builder.AddServiceDefaults(CouncilsNames.Service);
builder.Services.AddSingleton<ISigningKeySource>(new PublicKey(new ECDsaSecurityKey(key) { KeyId = "test-key" }));
builder.AddCouncils();
var app = builder.Build();
app.MapServiceDefaults();
app.MapCouncils();
await app.StartAsync();

if (Option("--seed-courtyard", "") is { Length: > 0 } courtyardId)
{
    // The roll as Directory's membership events bring it, through the event transport (event ids fixed, so a second
    // worker or a restart adds nothing).
    var transport = app.Services.GetRequiredService<IEventTransport>();
    var territory = new TerritoryRef { StreetId = "st_test", CommunityId = "cm_test", CourtyardId = courtyardId };
    async Task Deliver<T>(string id, T message) where T : IMessage<T>
    {
        var row = EventCatalog.ToOutbox(courtyardId, message);
        var delivered = await transport.PublishAsync([OutgoingEvent.Create(row.Topic, new CloudEvent
        {
            Id = id, Source = "directory", Type = row.EventType, Subject = courtyardId, Time = DateTimeOffset.UtcNow, Data = row.Payload,
        })], CancellationToken.None);
        if (delivered.Accepted != 1) throw new InvalidOperationException($"Seeding {id} failed: {delivered.Error?.Message}");
    }
    for (var i = 0; i < int.Parse(Option("--households", "10")); i++)
    {
        var household = $"hh_{courtyardId}_{i:D4}";
        await Deliver($"directory-seed-hh-{household}", new HouseholdChanged
        {
            HouseholdId = household, Ref = territory, ExclusiveAreaDm2 = 6000 + i * 3779 % 8000, Changes = { HouseholdChange.Registered },
        });
        await Deliver($"directory-seed-rs-{household}", new ResidentJoined
        {
            ResidentId = $"rs_{courtyardId}_{i:D4}_o", HouseholdId = household, Ref = territory, Relation = HouseholdRelation.Owner,
        });
    }
}

Console.WriteLine(JsonSerializer.Serialize(new { ready = true, grpc = $"http://127.0.0.1:{grpcPort}" }));
await app.WaitForShutdownAsync();

/// <summary>The test's token key: the worker validates the tokens the test mints, as a service validates Directory's.</summary>
internal sealed class PublicKey(SecurityKey key) : ISigningKeySource
{
    public IReadOnlyList<SecurityKey> ValidationKeys { get; } = [key];
}
