using System.Collections.Concurrent;
using Courtyard.Councils.V1;
using Courtyard.Testing.Services;
using static Courtyard.Councils.Tests.Scenario;

namespace Courtyard.Councils.Tests.Voting;

/// <summary>
/// 1,000 households vote and change their ballots concurrently; the tally equals a recount from the stored ballots. On
/// SQLite (the embedded default) and on PostgreSQL.
/// </summary>
public abstract class VoteStormTests(TestStorage storage) : IAsyncLifetime
{
    public sealed class OnSqlite() : VoteStormTests(TestStorage.Sqlite);

    public sealed class OnPostgres() : VoteStormTests(TestStorage.Postgres);

    private CouncilsTestHost host = null!;

    public async Task InitializeAsync() => host = await CouncilsTestHost.StartAsync(storage: storage);

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task A_storm_of_ballots_and_changes_ends_with_the_tally_a_recount_gives()
    {
        const int households = 1000;
        var courtyard = await TestCourtyard.SeedAsync(host, households);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard, Statutory(VoteRule.CivilCode278Ordinary), Art278(4)));
        var receipts = new ConcurrentBag<BallotReceipt>();
        var random = new Random(1000);
        var plan = Enumerable.Range(0, households)
            .SelectMany(household => Enumerable.Range(0, 1 + random.Next(3)).Select(_ => (household, choice: (BallotChoice)random.Next(1, 4))))
            .OrderBy(_ => random.Next()).ToList();

        // Each household's ballots go in order (a person changes their mind after the first is acknowledged), all households at once.
        await Parallel.ForEachAsync(plan.GroupBy(step => step.household), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (ballots, _) =>
        {
            foreach (var (household, choice) in ballots)
                receipts.Add(await host.VoteAsync(courtyard, vote, household, choice));
        });

        var live = await host.TallyAsync(courtyard, vote);
        var stored = new List<Ballot>();
        var page = new ListBallotsRequest { CourtyardId = courtyard.Id, VoteId = vote.Id, IncludeSuperseded = true, Page = new Common.V1.PageRequest { PageSize = 500 } };
        while (true)
        {
            var reply = await host.Client.ListBallotsAsync(page, courtyard.Member);
            stored.AddRange(reply.Ballots);
            if (reply.Page.NextPageToken.Length == 0) break;
            page.Page.PageToken = reply.Page.NextPageToken;
        }

        // Every acknowledged ballot is stored, and only those.
        Assert.Equal(plan.Count, receipts.Count);
        Assert.Equal(receipts.Select(r => r.BallotId).Order(), stored.Select(b => b.Id).Order());
        // The recount: each household's last ballot, weighted by its area.
        var areas = courtyard.Households.ToDictionary(h => h.Id, h => h.AreaDm2);
        var counted = stored.Where(b => !b.Superseded).ToList();
        Assert.Equal(counted.Count, counted.Select(b => b.VoterId).Distinct().Count());
        Assert.All(counted, b => Assert.Equal(stored.Where(s => s.VoterId == b.VoterId).Max(s => s.Revision), b.Revision));
        (int, long) Recount(BallotChoice choice) => (counted.Count(b => b.Choice == choice), counted.Where(b => b.Choice == choice).Sum(b => areas[b.VoterId]));
        Assert.Equal(Recount(BallotChoice.For), (live.InFavour.Voters, live.InFavour.AreaDm2));
        Assert.Equal(Recount(BallotChoice.Against), (live.Against.Voters, live.Against.AreaDm2));
        Assert.Equal(Recount(BallotChoice.Abstain), (live.Abstaining.Voters, live.Abstaining.AreaDm2));
        Assert.Equal(plan.Count, live.Sequence);

        // The same again from storage alone, after every grain started over.
        await host.DeactivateAllGrainsAsync();
        var replayed = await host.TallyAsync(courtyard, vote);
        Assert.Equal(live.InFavour, replayed.InFavour);
        Assert.Equal(live.Against, replayed.Against);
        Assert.Equal(live.Participating, replayed.Participating);
    }
}
