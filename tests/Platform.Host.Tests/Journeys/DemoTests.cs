using Courtyard.Authorization.Claims;
using Courtyard.Councils.V1;
using Courtyard.Directory.V1;
using Microsoft.Data.Sqlite;
using Microsoft.IdentityModel.JsonWebTokens;
using Platform.Host.Demo;
using CouncilsClient = Courtyard.Councils.V1.Councils.CouncilsClient;

namespace Platform.Host.Tests.Journeys;

/// <summary>
/// <c>--demo</c> (issue 10, "The embedded host and its demo"): a street, a community, a courtyard of 120 households with
/// realistic floor areas and a few tenants, one account for each role in DIR/demo-accounts.json that signs in at once,
/// one open vote with ballots, one passed proposal with its notice; and a second run on the same data changes nothing.
/// </summary>
public sealed class DemoTests
{
    [Fact]
    public async Task The_demo_seeds_a_courtyard_an_account_for_each_role_and_two_proposals_and_a_second_run_changes_nothing()
    {
        string dataDir = RunningHost.NewDataDir();
        try
        {
            DemoAccounts first;
            (long Directory, long Councils) eventsAfterFirst;
            await using (var host = await RunningHost.StartAsync(dataDir: dataDir, demo: true))
            {
                string path = await PlatformDemo.SeedAsync(host.App);
                Assert.Equal(Path.Combine(Path.GetFullPath(dataDir), "demo-accounts.json"), path);
                first = DemoAccounts.Read(Path.GetFullPath(dataDir))!;
                await AssertTheDemoAsync(host, first);
                eventsAfterFirst = await CommittedEventsAsync(dataDir);
                await host.StopKeepingDataAsync();
            }

            await using (var again = await RunningHost.StartAsync(dataDir: dataDir, demo: true))
            {
                await PlatformDemo.SeedAsync(again.App);
                var second = DemoAccounts.Read(Path.GetFullPath(dataDir))!;
                // The same accounts with the same passwords, the same courtyard; and not one event more in either service
                // (Directory's audit log does record the second run's sign-ins).
                Assert.Equal(first.Accounts, second.Accounts);
                Assert.Equal(first.Courtyard, second.Courtyard);
                await AssertTheDemoAsync(again, second);
                Assert.Equal(eventsAfterFirst, await CommittedEventsAsync(dataDir));
            }
        }
        finally
        {
            RunningHost.TryDelete(Path.GetDirectoryName(dataDir)!);
        }
    }

    private static async Task AssertTheDemoAsync(RunningHost host, DemoAccounts demo)
    {
        var directory = new DirectoryCalls(host.Channel);
        var councils = new CouncilsClient(host.Channel);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DemoAccounts.PathIn(Path.GetFullPath(host.DataDir))));
        }

        // One account for each role, and each signs in holding it (resident and representative follow from the roll).
        Assert.Equal(RoleNames.All.Select(RoleNames.Of).Order(), demo.Accounts.Select(a => a.Role).Order());
        var tokens = new Dictionary<string, string>();
        foreach (var account in demo.Accounts)
        {
            tokens[account.Role] = await directory.SignInAsync(account.Login, account.Password);
            var grants = new JsonWebToken(tokens[account.Role]).Claims.Where(c => c.Type == CourtyardClaimTypes.Grant).Select(c => c.Value);
            Assert.Contains($"{account.Role}@{account.ScopeId}", grants);
        }

        // The roll: 120 households, areas of real flats, a few let to tenants.
        var admin = DirectoryCalls.Bearer(tokens["platform_admin"]);
        var households = (await directory.Client.ListHouseholdsAsync(new ListHouseholdsRequest
        {
            CourtyardId = demo.Courtyard.Id, Page = new Courtyard.Common.V1.PageRequest { PageSize = 500 },
        }, admin)).Households;
        Assert.Equal(DemoRoll.Households, households.Count);
        Assert.All(households, h => Assert.InRange(h.ExclusiveAreaDm2, 6800, 13200));
        Assert.Equal(DemoRoll.Let.Length, households.Count(h => h.Occupancy == Occupancy.Tenant));

        // Councils has the roll from Directory's events; one passed proposal with its notice, one open vote with ballots.
        var resident = DirectoryCalls.Bearer(tokens["resident"]);
        var council = await councils.GetCouncilAsync(new GetCouncilRequest { CourtyardId = demo.Courtyard.Id }, resident);
        Assert.Equal(DemoRoll.Households, council.HouseholdsOnRoll);
        var proposals = (await councils.ListProposalsAsync(new ListProposalsRequest { CourtyardId = demo.Courtyard.Id }, resident)).Proposals;
        Assert.Equal([ProposalStatus.Voting, ProposalStatus.Passed], proposals.Select(p => p.Status).Order());
        var open = Assert.Single(council.OpenVotes);
        Assert.InRange(open.Participating.Voters, 1, DemoRoll.Households - 1);
        var notice = Assert.Single((await councils.ListNoticesAsync(new ListNoticesRequest { CourtyardId = demo.Courtyard.Id })).Notices);
        Assert.Equal(proposals.Single(p => p.Status == ProposalStatus.Passed).NoticeId, notice.Id);
    }

    /// <summary>
    /// How many integration events each service's database holds (not Directory's own audit facts): what a second run
    /// must not add to.
    /// </summary>
    private static async Task<(long Directory, long Councils)> CommittedEventsAsync(string dataDir)
    {
        async Task<long> Count(string service)
        {
            await using var database = new SqliteConnection($"Data Source={Path.Combine(Path.GetFullPath(dataDir), service + ".db")};Pooling=False");
            await database.OpenAsync();
            await using var command = database.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM outbox WHERE topic <> 'directory-audit'";
            return (long)(await command.ExecuteScalarAsync())!;
        }
        return (await Count("directory"), await Count("councils"));
    }
}
