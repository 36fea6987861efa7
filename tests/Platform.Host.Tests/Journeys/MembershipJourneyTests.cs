using System.Net;
using System.Net.Sockets;
using Courtyard.Common.V1;
using Courtyard.Councils.V1;
using Courtyard.Directory.Tests.Support;
using Courtyard.Directory.V1;
using Courtyard.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using CouncilsClient = Courtyard.Councils.V1.Councils.CouncilsClient;

namespace Platform.Host.Tests.Journeys;

/// <summary>
/// Directory's roll reaches Councils only through Directory's membership events, and Councils trusts the tokens Directory
/// signs: a committee imports a roll in Directory; Councils' copy fills (households, residents, floor areas, where the
/// courtyard sits); residents and officials signed in at Directory act in Councils. Once in the embedded host (the
/// in-process bus), once as two processes of the real executables over the real RabbitMQ.
/// </summary>
public sealed class MembershipJourneyTests
{
    private const string AdminLogin = "admin";
    private const string AdminPassword = "journey-admin-password";

    [Fact]
    public async Task In_the_embedded_host_a_roll_imported_in_Directory_reaches_Councils_through_the_in_process_bus()
    {
        await using var host = await RunningHost.StartAsync(builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Directory:Bootstrap:AdminLogin"] = AdminLogin,
            ["Directory:Bootstrap:AdminPassword"] = AdminPassword,
        }));

        await JourneyAsync(new DirectoryCalls(host.Channel), new CouncilsClient(host.Channel));
    }

    [Fact]
    public async Task As_two_processes_over_RabbitMQ_a_roll_imported_in_Directory_reaches_Councils()
    {
        var rabbit = await TestRabbitMq.UrlAsync();
        var exchange = TestRabbitMq.UniqueName("journey");
        var dataDir = System.IO.Directory.CreateTempSubdirectory("courtyard-journey-");
        try
        {
            int directoryGrpc = FreePort(), directoryHttp = FreePort(), councilsGrpc = FreePort();
            Dictionary<string, string?> Shared(string name) => new()
            {
                ["Courtyard__DataDir"] = Path.Combine(dataDir.FullName, name),
                ["Courtyard__Events__Transport"] = "rabbitmq",
                ["Courtyard__Events__RabbitMq__Url"] = rabbit,
                ["Courtyard__Events__RabbitMq__Exchange"] = exchange,
                ["Logging__LogLevel__Default"] = "Warning",
            };
            // Councils first: its queue for Directory's topic exists before Directory publishes anything.
            var councilsEnvironment = Shared("councils");
            councilsEnvironment["Courtyard__GrpcPort"] = $"{councilsGrpc}";
            councilsEnvironment["Courtyard__HttpPort"] = $"{FreePort()}";
            councilsEnvironment["Courtyard__Authentication__DirectoryAddress"] = $"http://127.0.0.1:{directoryHttp}";
            await using var councils = ChildProcess.StartDotnet(Path.Combine(AppContext.BaseDirectory, "Courtyard.Councils.dll"), [], councilsEnvironment);
            using var councilsChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{councilsGrpc}");
            await ServingAsync(councilsChannel, councils);

            var directoryEnvironment = Shared("directory");
            directoryEnvironment["Courtyard__GrpcPort"] = $"{directoryGrpc}";
            directoryEnvironment["Courtyard__HttpPort"] = $"{directoryHttp}";
            directoryEnvironment["Directory__Bootstrap__AdminLogin"] = AdminLogin;
            directoryEnvironment["Directory__Bootstrap__AdminPassword"] = AdminPassword;
            await using var directory = ChildProcess.StartDotnet(Path.Combine(AppContext.BaseDirectory, "Courtyard.Directory.dll"), [], directoryEnvironment);
            using var directoryChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{directoryGrpc}");
            await ServingAsync(directoryChannel, directory);

            await JourneyAsync(new DirectoryCalls(directoryChannel), new CouncilsClient(councilsChannel));
        }
        finally
        {
            RunningHost.TryDelete(dataDir.FullName);
        }
    }

    private static async Task JourneyAsync(DirectoryCalls directory, CouncilsClient councils)
    {
        var admin = await directory.SignInAsync(AdminLogin, AdminPassword);
        var street = await directory.CreateNodeAsync(admin, "", TerritoryLevel.Street, "东华门街道");
        var community = await directory.CreateNodeAsync(admin, street, TerritoryLevel.Community, "多福巷社区");
        var courtyard = await directory.CreateNodeAsync(admin, community, TerritoryLevel.Courtyard, "银闸胡同院");
        await directory.ImportAsync(admin, courtyard, RollFiles.Generate(30));   // 30 households, 3 of them also let to a tenant
        var owners = (await directory.ResidentsAsync(admin, courtyard)).Where(r => r.Relation == HouseholdRelation.Owner).ToList();
        var ownerAccount = await directory.AccountForAsync(admin, owners[0].Id);
        var owner = DirectoryCalls.Bearer(await directory.SignInAsync(ownerAccount));
        var chairAccount = await directory.AccountForAsync(admin, owners[1].Id);
        await directory.GrantAsync(admin, chairAccount.AccountId, Role.CommitteeChair, courtyard);
        var chair = DirectoryCalls.Bearer(await directory.SignInAsync(chairAccount));
        var official = DirectoryCalls.Bearer(await directory.StaffAsync(admin, community, Role.CommunityOfficial, "official" + Guid.NewGuid().ToString("N")[..8]));

        // Councils' own copy of the roll fills from Directory's events: 30 households, 33 residents.
        await Eventually.HoldsAsync(async () =>
        {
            var council = await councils.GetCouncilAsync(new GetCouncilRequest { CourtyardId = courtyard }, owner);
            return (council.HouseholdsOnRoll, council.ResidentsOnRoll) == (30, 33);
        }, TimeSpan.FromSeconds(60), "Councils has the imported roll");
        // A community official reads the courtyard: Councils knows it lies in that community (TerritoryNodeCreated came first).
        Assert.Equal(30, (await councils.GetCouncilAsync(new GetCouncilRequest { CourtyardId = courtyard }, official)).HouseholdsOnRoll);

        // The chair signed in at Directory tables a proposal and opens the vote; the owner votes for their household.
        var proposal = await councils.TableProposalAsync(new TableProposalRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), CourtyardId = courtyard, Title = "加装非机动车棚", Body = "东门旁加装两排车棚。",
            Effect = new ProposalEffect { General = new() }, Ballot = new BallotDesign { Rule = VoteRule.SimpleMajority, Electorate = Electorate.PerHousehold },
        }, chair);
        var vote = await councils.OpenVoteAsync(new OpenVoteRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), CourtyardId = courtyard, ProposalId = proposal.Id,
            ClosesAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)),
        }, chair);
        var receipt = await councils.CastBallotAsync(new CastBallotRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), CourtyardId = courtyard, VoteId = vote.Id, VoterId = owners[0].HouseholdId, Choice = BallotChoice.For,
        }, owner);
        Assert.Equal(owners[0].HouseholdId, receipt.VoterId);
        Assert.Equal(ownerAccount.AccountId, receipt.Audit.RecordedById);
        var tally = await councils.GetTallyAsync(new GetTallyRequest { CourtyardId = courtyard, VoteId = vote.Id }, official);
        Assert.Equal((30, 1), (tally.Eligible.Voters, tally.InFavour.Voters));
        // Someone else's household is not the owner's to vote for.
        var refused = await Assert.ThrowsAsync<RpcException>(() => councils.CastBallotAsync(new CastBallotRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), CourtyardId = courtyard, VoteId = vote.Id, VoterId = owners[2].HouseholdId, Choice = BallotChoice.For,
        }, owner).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);

        // A resident moves out in Directory: Councils' roll follows.
        await directory.Client.EndResidencyAsync(new EndResidencyRequest { RequestId = Guid.NewGuid().ToString("N"), ResidentId = owners[2].Id }, DirectoryCalls.Bearer(admin));
        await Eventually.HoldsAsync(async () =>
            (await councils.GetCouncilAsync(new GetCouncilRequest { CourtyardId = courtyard }, owner)).ResidentsOnRoll == 32,
            TimeSpan.FromSeconds(60), "Councils' roll lost the resident who moved out");
    }

    /// <summary>Waits until the process answers grpc.health.v1 SERVING, failing at once if it exits.</summary>
    private static async Task ServingAsync(GrpcChannel channel, ChildProcess process)
    {
        var health = new Grpc.Health.V1.Health.HealthClient(channel);
        await Eventually.HoldsAsync(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"{process.Name} exited: {process.StandardError}");
            try
            {
                return (await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2))).Status
                    == Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving;
            }
            catch (RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(90), $"{process.Name} serves");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
