using System.Text;
using Courtyard.Common.V1;
using Courtyard.Councils.V1;
using Courtyard.Directory.V1;
using Courtyard.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using CouncilsClient = Courtyard.Councils.V1.Councils.CouncilsClient;
using DirectoryClient = Courtyard.Directory.V1.Directory.DirectoryClient;

namespace Courtyard.Portal.Tests.Support;

/// <summary>
/// What the platform admin does before the portal has a user: a street, a community and a courtyard, and the courtyard
/// committee's chair (a staff account with the chair's role). Also, for tests that start mid-journey, the same steps the
/// journey test takes in the browser, done quickly through gRPC.
/// </summary>
public sealed class TestCourtyard : IDisposable
{
    public const string ChairLogin = "13900000001";
    public const string ResidentPassword = "resident-password-1";

    private readonly GrpcChannel channel;

    private TestCourtyard(GrpcChannel channel, string courtyardId, string chairPassword)
    {
        this.channel = channel;
        CourtyardId = courtyardId;
        ChairPassword = chairPassword;
    }

    public string CourtyardId { get; }
    public string ChairPassword { get; }
    public DirectoryClient Directory => new(channel);
    public CouncilsClient Councils => new(channel);

    public static async Task<TestCourtyard> CreateAsync(PortalHost host)
    {
        var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var directory = new DirectoryClient(channel);
        var admin = Bearer((await directory.SignInAsync(new SignInRequest { Login = PortalHost.AdminLogin, Password = PortalHost.AdminPassword })).AccessToken);
        var street = await directory.CreateTerritoryNodeAsync(new CreateTerritoryNodeRequest
        {
            RequestId = NewId(), Level = TerritoryLevel.Street, Name = new LocalizedText { ZhCn = "玉林街道", En = "Yulin Street" },
        }, admin);
        var community = await directory.CreateTerritoryNodeAsync(new CreateTerritoryNodeRequest
        {
            RequestId = NewId(), ParentId = street.Id, Level = TerritoryLevel.Community, Name = new LocalizedText { ZhCn = "玉林东路社区", En = "Yulin East Road" },
        }, admin);
        var courtyard = await directory.CreateTerritoryNodeAsync(new CreateTerritoryNodeRequest
        {
            RequestId = NewId(), ParentId = community.Id, Level = TerritoryLevel.Courtyard, Name = new LocalizedText { ZhCn = "芳草院", En = "Fangcao Court" },
        }, admin);
        var chair = await directory.CreateStaffAccountAsync(new CreateStaffAccountRequest
        {
            RequestId = NewId(), ScopeId = community.Id, Login = ChairLogin, DisplayName = "王主任",
        }, admin);
        await directory.GrantRoleAsync(new GrantRoleRequest { RequestId = NewId(), AccountId = chair.AccountId, Role = Role.CommitteeChair, ScopeId = courtyard.Id }, admin);
        return new TestCourtyard(channel, courtyard.Id, chair.InitialPassword);
    }

    /// <summary>A courtyard's roll as the committee's spreadsheet has it: one owner per flat, flat 4 let to a tenant.</summary>
    public static string RollCsv(int households)
    {
        var text = new StringBuilder("楼栋,单元,房号,面积,业主/租户,姓名,电话\n");
        for (int i = 0; i < households; i++)
        {
            text.Append($"1,1,{Room(i)},{85 + i}.50,{(i == 3 ? "租户" : "业主")},居民{i},{Phone(i)}\n");
        }
        return text.ToString();
    }

    private static int Room(int household) => (household / 2 + 1) * 100 + household % 2 + 1;

    /// <summary>The door label the Directory gives household number <paramref name="household"/> of <see cref="RollCsv"/>: 1栋1单元101, 1栋1单元102, 1栋1单元201…</summary>
    public static string Door(int household) => $"1栋1单元{Room(household)}";

    /// <summary>The phone number the roll lists for that household's resident: the login they join with.</summary>
    public static string Phone(int household) => $"138{household:D8}";

    public async Task<Metadata> ChairAsync() =>
        Bearer((await Directory.SignInAsync(new SignInRequest { Login = ChairLogin, Password = ChairPassword })).AccessToken);

    /// <summary>The roll imported through gRPC, and Councils' copy of it caught up (membership events).</summary>
    public async Task ImportRollAsync(int households)
    {
        var chair = await ChairAsync();
        using var call = Directory.ImportRoll(new ImportRollRequest { RequestId = NewId(), CourtyardId = CourtyardId, Csv = ByteString.CopyFromUtf8(RollCsv(households)) }, chair);
        await foreach (var _ in call.ResponseStream.ReadAllAsync())
        {
        }
        await WaitForCouncilRollAsync(households);
    }

    public async Task WaitForCouncilRollAsync(int households)
    {
        var chair = await ChairAsync();
        await Eventually.HoldsAsync(async () =>
            (await Councils.GetCouncilAsync(new GetCouncilRequest { CourtyardId = CourtyardId }, chair)).HouseholdsOnRoll == households,
            TimeSpan.FromSeconds(30), $"Councils knows the {households} households of the roll");
    }

    /// <summary>The resident of household number <paramref name="household"/> joins (invitation redeemed through gRPC); returns the login.</summary>
    public async Task<string> ResidentAsync(int household, string name)
    {
        string doorLabel = Door(household), login = Phone(household);
        var chair = await ChairAsync();
        var households = await Directory.ListHouseholdsAsync(new ListHouseholdsRequest { CourtyardId = CourtyardId, Page = new PageRequest { PageSize = 500 } }, chair);
        var invited = households.Households.Single(h => h.DoorLabel == doorLabel);
        var slips = await Directory.CreateInvitationsAsync(new CreateInvitationsRequest { RequestId = NewId(), CourtyardId = CourtyardId, HouseholdIds = { invited.Id } }, chair);
        await Directory.RedeemInvitationAsync(new RedeemInvitationRequest
        {
            RequestId = NewId(), Code = slips.Slips[0].Code, Login = login, Password = ResidentPassword, DisplayName = name, Relation = HouseholdRelation.Owner,
        });
        return login;
    }

    /// <summary>A proposal voted on per household by simple majority, its vote open for a week; returns the vote id.</summary>
    public async Task<(string ProposalId, string VoteId)> OpenVoteAsync(string title)
    {
        var chair = await ChairAsync();
        var proposal = await Councils.TableProposalAsync(new TableProposalRequest
        {
            RequestId = NewId(), CourtyardId = CourtyardId, Title = title, Body = "在东门内侧空地加装一处有顶的自行车棚，费用由公共收益列支。",
            Effect = new ProposalEffect { General = new ProposalEffect.Types.GeneralDecision() },
            Ballot = new BallotDesign { Rule = VoteRule.SimpleMajority, Electorate = Electorate.PerHousehold, EarlyCloseAllowed = true },
        }, chair);
        var vote = await Councils.OpenVoteAsync(new OpenVoteRequest
        {
            RequestId = NewId(), CourtyardId = CourtyardId, ProposalId = proposal.Id,
            ClosesAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(7)),
        }, chair);
        return (proposal.Id, vote.Id);
    }

    public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    public static string NewId() => Guid.NewGuid().ToString("N");

    public void Dispose() => channel.Dispose();
}
