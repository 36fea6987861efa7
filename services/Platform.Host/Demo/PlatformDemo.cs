using Courtyard.Authorization.Claims;
using Courtyard.Common.V1;
using Courtyard.Councils;
using Courtyard.Councils.Demo;
using Courtyard.Directory;
using Courtyard.Directory.Accounts;
using Courtyard.Directory.V1;
using Courtyard.Events;
using Courtyard.ServiceDefaults;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using DirectoryClient = Courtyard.Directory.V1.Directory.DirectoryClient;

namespace Platform.Host.Demo;

/// <summary>
/// <c>--demo</c>: a street, a community and a courtyard of 120 households (<see cref="DemoRoll"/>), one account for each
/// role, one passed proposal with its public notice, and one open vote with some ballots cast. Directory is seeded the
/// way its users would do it — through its gRPC API, as the demo's platform admin — so its events carry the roll to
/// Councils as in production; Councils' part is <see cref="CouncilsDemoSeeder"/>. Every act has a fixed request id and
/// accounts that still sign in are kept, so running it again changes nothing.
/// </summary>
public static class PlatformDemo
{
    public const string AdminLogin = "demo-admin";

    /// <summary>Before the host is built: the demo's platform admin, created at start with the password the accounts file keeps.</summary>
    public static void Configure(WebApplicationBuilder builder, string dataDir)
    {
        string password = Admin(DemoAccounts.Read(dataDir))?.Password ?? Passwords.Generate();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Directory:Bootstrap:AdminLogin"] = AdminLogin,
            ["Directory:Bootstrap:AdminPassword"] = password,
            ["Directory:Bootstrap:AdminName"] = "演示平台管理员",
        });
    }

    /// <summary>Seeds the running host and writes DIR/demo-accounts.json; returns its path.</summary>
    public static async Task<string> SeedAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        var options = app.Services.GetRequiredService<ServiceOptions>();
        var endpoints = app.Services.GetRequiredService<ServiceEndpoints>();
        var earlier = DemoAccounts.Read(options.DataDir);
        using var channel = GrpcChannel.ForAddress(endpoints.GrpcAddress);
        var directory = new DirectoryClient(channel);
        string adminPassword = app.Configuration["Directory:Bootstrap:AdminPassword"]!;
        Metadata admin;
        try
        {
            admin = Bearer((await directory.SignInAsync(new SignInRequest { Login = AdminLogin, Password = adminPassword }, cancellationToken: cancellationToken)).AccessToken);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
        {
            throw new ServiceStartupException(
                $"演示数据已存在，但 {DemoAccounts.PathIn(options.DataDir)} 缺失或不符，无法以演示管理员登录。请换一个空的 --data-dir 重新生成演示。\n" +
                $"This data folder holds demo data from an earlier run, but {DemoAccounts.FileName} is missing or does not match, so the demo admin cannot sign in. Use an empty --data-dir to seed the demo again.");
        }
        var seed = new Seeder(directory, admin, earlier, cancellationToken);

        var street = await seed.NodeAsync("demo:street", "", TerritoryLevel.Street, "东华门街道", "Donghuamen Subdistrict");
        var community = await seed.NodeAsync("demo:community", street.Id, TerritoryLevel.Community, "多福巷社区", "Duofu Lane Community");
        var courtyard = await seed.NodeAsync("demo:courtyard", community.Id, TerritoryLevel.Courtyard, "银闸胡同3号院", "No. 3 Yinzha Hutong");
        await seed.ImportRollAsync(courtyard.Id);
        var owners = await seed.OwnersAsync(courtyard.Id);
        await directory.SetHouseholdRepresentativeAsync(new SetHouseholdRepresentativeRequest
        {
            RequestId = "demo:representative", HouseholdId = owners[1].HouseholdId, ResidentId = owners[1].Id,
        }, admin, cancellationToken: cancellationToken);

        var accounts = new List<DemoAccount>
        {
            await seed.ResidentAsync(Role.Resident, owners[0], courtyard.Id),
            await seed.ResidentAsync(Role.HouseholdRepresentative, owners[1], courtyard.Id),
            await seed.ResidentAsync(Role.CommitteeChair, owners[2], courtyard.Id),
            await seed.ResidentAsync(Role.CommitteeMember, owners[4], courtyard.Id),
            await seed.ResidentAsync(Role.Mediator, owners[5], courtyard.Id),
            await seed.ResidentAsync(Role.Volunteer, owners[8], courtyard.Id),
            await seed.StaffAsync(Role.SocialWorker, community.Id, "社区社工 周慧", "demo-social-worker"),
            await seed.StaffAsync(Role.OrganizationMember, community.Id, "社会组织 夕阳红助老服务中心 吴敏", "demo-organization"),
            await seed.StaffAsync(Role.CommunityOfficial, community.Id, "社区书记 郑国华", "demo-community-official"),
            await seed.StaffAsync(Role.StreetOfficial, street.Id, "街道办 冯建军", "demo-street-official"),
            new(RoleNames.Of(Role.PlatformAdmin), RoleNames.Chinese(Role.PlatformAdmin), "演示平台管理员", AdminLogin, adminPassword,
                (await directory.WhoAmIAsync(new WhoAmIRequest(), admin, cancellationToken: cancellationToken)).AccountId, GrantClaim.Everywhere, ""),
        };

        // Councils learns the roll from Directory's events; in this process they are delivered once Directory's outbox is empty.
        await DirectoryEventsDeliveredAsync(app, cancellationToken);
        var byResident = accounts.Where(a => a.Household.Length > 0).ToDictionary(a => owners.Single(o => o.DoorLabel == a.Household).Id, a => a.AccountId);
        await ActivatorUtilities.CreateInstance<CouncilsDemoSeeder>(app.Services).SeedAsync(new DemoCourtyard(
            courtyard.Id,
            accounts.Single(a => a.Role == RoleNames.Of(Role.CommitteeChair)).AccountId,
            accounts.Single(a => a.Role == RoleNames.Of(Role.CommitteeMember)).AccountId,
            owners.Select(o => new DemoVoter(o.HouseholdId, o.Id, byResident.GetValueOrDefault(o.Id))).ToList()));

        var file = new DemoAccounts(
            "演示账号：每个角色一个，密码仅用于本机演示。Demo accounts, one for each role; the passwords are for this local demo only.",
            endpoints.GrpcAddress.ToString().TrimEnd('/'), endpoints.HttpAddress.ToString().TrimEnd('/'), street, community, courtyard, accounts);
        await file.WriteAsync(options.DataDir);
        return DemoAccounts.PathIn(options.DataDir);
    }

    private static DemoAccount? Admin(DemoAccounts? accounts) => accounts?.Accounts.FirstOrDefault(a => a.Login == AdminLogin);

    private static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    private static async Task DirectoryEventsDeliveredAsync(WebApplication app, CancellationToken cancellationToken)
    {
        var outbox = app.Services.GetRequiredKeyedService<EventBus>(DirectoryOptions.ServiceName).Storage.Outbox;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((await outbox.GetStatsAsync(cancellationToken)).Unsent > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Directory's events did not reach Councils within 2 minutes.");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>One demo run's calls to Directory, each with a fixed request id.</summary>
    private sealed class Seeder(DirectoryClient directory, Metadata admin, DemoAccounts? earlier, CancellationToken cancellationToken)
    {
        public async Task<DemoPlace> NodeAsync(string requestId, string parentId, TerritoryLevel level, string nameZh, string nameEn)
        {
            var node = await directory.CreateTerritoryNodeAsync(new CreateTerritoryNodeRequest
            {
                RequestId = requestId, ParentId = parentId, Level = level, Name = new LocalizedText { ZhCn = nameZh, En = nameEn },
            }, admin, cancellationToken: cancellationToken);
            return new DemoPlace(node.Id, nameZh);
        }

        public async Task ImportRollAsync(string courtyardId)
        {
            using var call = directory.ImportRoll(new ImportRollRequest
            {
                RequestId = "demo:roll", CourtyardId = courtyardId, Csv = ByteString.CopyFromUtf8(DemoRoll.Csv()),
            }, admin, cancellationToken: cancellationToken);
            await foreach (var _ in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
            }
        }

        /// <summary>Each household's owner, in the roll's order (household <c>i</c> of <see cref="DemoRoll"/> at index <c>i</c>).</summary>
        public async Task<IReadOnlyList<(string Id, string HouseholdId, string DoorLabel, string Name)>> OwnersAsync(string courtyardId)
        {
            var households = (await directory.ListHouseholdsAsync(new ListHouseholdsRequest { CourtyardId = courtyardId, Page = new PageRequest { PageSize = 500 } },
                admin, cancellationToken: cancellationToken)).Households.ToDictionary(h => h.Id);
            var residents = (await directory.ListResidentsAsync(new ListResidentsRequest { CourtyardId = courtyardId, Page = new PageRequest { PageSize = 500 } },
                admin, cancellationToken: cancellationToken)).Residents;
            var byDoor = residents.Where(r => r.Relation == HouseholdRelation.Owner)
                .ToDictionary(r => households[r.HouseholdId].DoorLabel, r => (r.Id, r.HouseholdId, households[r.HouseholdId].DoorLabel, r.DisplayName));
            return Enumerable.Range(0, DemoRoll.Households).Select(i => byDoor[DemoRoll.DoorLabel(i)]).ToArray();
        }

        /// <summary>A resident's account, holding <paramref name="role"/> in the courtyard.</summary>
        public async Task<DemoAccount> ResidentAsync(Role role, (string Id, string HouseholdId, string DoorLabel, string Name) owner, string courtyardId)
        {
            string name = RoleNames.Of(role);
            var account = await KeptOrCreatedAsync(name, () => directory.CreateResidentAccountAsync(new CreateResidentAccountRequest
            {
                RequestId = $"demo:account:{name}", ResidentId = owner.Id,
            }, admin, cancellationToken: cancellationToken).ResponseAsync);
            // Resident and household representative follow from the roll; the other courtyard roles are granted.
            if (role is not (Role.Resident or Role.HouseholdRepresentative))
            {
                await GrantAsync(role, account.AccountId, courtyardId);
            }
            return new DemoAccount(name, RoleNames.Chinese(role), owner.Name, account.Login, account.InitialPassword, account.AccountId, courtyardId, owner.DoorLabel);
        }

        public async Task<DemoAccount> StaffAsync(Role role, string scopeId, string displayName, string login)
        {
            string name = RoleNames.Of(role);
            var account = await KeptOrCreatedAsync(name, () => directory.CreateStaffAccountAsync(new CreateStaffAccountRequest
            {
                RequestId = $"demo:account:{name}", ScopeId = scopeId, Login = login, DisplayName = displayName,
            }, admin, cancellationToken: cancellationToken).ResponseAsync);
            await GrantAsync(role, account.AccountId, scopeId);
            return new DemoAccount(name, RoleNames.Chinese(role), displayName, account.Login, account.InitialPassword, account.AccountId, scopeId, "");
        }

        private Task GrantAsync(Role role, string accountId, string scopeId) =>
            directory.GrantRoleAsync(new GrantRoleRequest
            {
                RequestId = $"demo:grant:{RoleNames.Of(role)}", AccountId = accountId, Role = role, ScopeId = scopeId,
                OrganizationId = role == Role.OrganizationMember ? "org_demo_xiyanghong" : "",
            }, admin, cancellationToken: cancellationToken).ResponseAsync;

        /// <summary>The account an earlier run wrote down, if its password still signs in; else created (or its password reissued).</summary>
        private async Task<CreatedAccount> KeptOrCreatedAsync(string role, Func<Task<CreatedAccount>> create)
        {
            if (earlier?.Accounts.FirstOrDefault(a => a.Role == role) is { } kept)
            {
                try
                {
                    await directory.SignInAsync(new SignInRequest { Login = kept.Login, Password = kept.Password }, cancellationToken: cancellationToken);
                    return new CreatedAccount { AccountId = kept.AccountId, Login = kept.Login, InitialPassword = kept.Password };
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
                {
                    // Changed since: issue a fresh one below.
                }
            }
            return await create();
        }
    }
}
