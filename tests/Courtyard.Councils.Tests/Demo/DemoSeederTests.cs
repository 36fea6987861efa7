using Courtyard.Councils.Demo;
using Courtyard.Councils.V1;
using Courtyard.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Councils.Tests.Demo;

public sealed class DemoSeederTests : IAsyncLifetime
{
    private CouncilsTestHost host = null!;

    public async Task InitializeAsync() => host = await CouncilsTestHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task The_demo_gives_a_passed_proposal_with_its_notice_and_an_open_vote_and_running_it_twice_duplicates_nothing()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 120, tenanted: 6);
        // A few owners have accounts and vote online; the committee enters the others' ballots on paper.
        var demo = new DemoCourtyard(courtyard.Id, TestCourtyard.AccountOf(courtyard.ChairId), TestCourtyard.AccountOf(courtyard.MemberId),
            courtyard.Households.Where(h => h.OwnerId is not null)
                .Select((h, i) => new DemoVoter(h.Id, h.OwnerId!, i % 4 == 0 ? TestCourtyard.AccountOf(h.OwnerId!) : null)).ToList());
        var seeder = ActivatorUtilities.CreateInstance<CouncilsDemoSeeder>(host.Services);

        await seeder.SeedAsync(demo);
        await Eventually.HoldsAsync(async () => (await host.Client.ListNoticesAsync(new ListNoticesRequest { CourtyardId = courtyard.Id }, CouncilsTestHost.Anonymous)).Notices.Count == 1,
            TimeSpan.FromSeconds(10), "the passed proposal's notice was posted");
        await seeder.SeedAsync(demo);

        var proposals = (await host.Client.ListProposalsAsync(new ListProposalsRequest { CourtyardId = courtyard.Id }, courtyard.Owner(0))).Proposals;
        Assert.Equal([ProposalStatus.Voting, ProposalStatus.Passed], proposals.Select(p => p.Status).Order());
        // The council's live tallies follow the votes' pushes (at most 200 ms behind).
        await Eventually.HoldsAsync(async () => (await host.Client.GetCouncilAsync(new GetCouncilRequest { CourtyardId = courtyard.Id }, courtyard.Owner(0)))
            .OpenVotes.SingleOrDefault()?.Participating.Voters == 38, TimeSpan.FromSeconds(10), "the council shows the open vote's 38 ballots");
        var council = await host.Client.GetCouncilAsync(new GetCouncilRequest { CourtyardId = courtyard.Id }, courtyard.Owner(0));
        var open = Assert.Single(council.OpenVotes);
        Assert.Equal(VoteRule.CivilCode278Ordinary, open.Rule);
        Assert.Equal((120, 38), (open.Eligible.Voters, open.Participating.Voters));
        Assert.Single((await host.Client.ListNoticesAsync(new ListNoticesRequest { CourtyardId = courtyard.Id }, CouncilsTestHost.Anonymous)).Notices);
    }
}
