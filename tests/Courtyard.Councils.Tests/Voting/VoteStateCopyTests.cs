using Courtyard.Councils.Proposals;
using Courtyard.Councils.Roll;
using Courtyard.Councils.Voting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Cloning;

namespace Courtyard.Councils.Tests.Voting;

/// <summary>
/// After every write, Orleans' log view deep-copies a JournaledGrain's confirmed state to make its next tentative state.
/// If that copy copied every ballot, each ballot would cost in proportion to the ballots before it (bench: ballots);
/// the vote's collections are persistent and marked [Immutable], so the copy shares them, and applying an event to the
/// copy still leaves the confirmed state as it was.
/// </summary>
public sealed class VoteStateCopyTests
{
    private static readonly DeepCopier<VoteState> Copier = new ServiceCollection()
        .AddSerializer(serializer => serializer.AddAssembly(typeof(VoteState).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<DeepCopier<VoteState>>();

    private static readonly DateTimeOffset Now = new(2026, 11, 30, 9, 0, 0, TimeSpan.FromHours(8));

    [Fact]
    public void Orleans_copy_of_a_vote_shares_its_ballots_and_the_copy_changes_alone()
    {
        var confirmed = new VoteState();
        var electorate = Enumerable.Range(0, 3).Select(i => new EligibleVoter($"hh_{i}", 100, [$"r_{i}"], $"{i}")).ToArray();
        confirmed.Apply(new VoteOpened(Spec(), electorate));
        confirmed.Apply(Ballot("req_1", "hh_0", Choice.For, revision: 1));

        var tentative = Copier.Copy(confirmed);

        Assert.Same(confirmed.History, tentative.History);
        Assert.Same(confirmed.Counted, tentative.Counted);
        Assert.Same(confirmed.ByRequest, tentative.ByRequest);
        Assert.Same(confirmed.Electorate, tentative.Electorate);
        Assert.NotSame(confirmed.Counts, tentative.Counts);            // small and changed in place: copied

        tentative.Apply(Ballot("req_2", "hh_0", Choice.Against, revision: 2));
        tentative.Apply(Ballot("req_3", "hh_1", Choice.For, revision: 1));

        Assert.Single(confirmed.History);
        Assert.Equal(0, confirmed.Counted["hh_0"]);
        Assert.False(confirmed.ByRequest.ContainsKey("req_2"));
        Assert.Equal(new Count(1, 100), confirmed.Counts.InFavour);
        Assert.Equal(new Count(0, 0), confirmed.Counts.Against);

        Assert.Equal(3, tentative.History.Count);
        Assert.Equal(1, tentative.Counted["hh_0"]);
        Assert.Equal(new Count(1, 100), tentative.Counts.InFavour);    // hh_1's; hh_0 changed to against
        Assert.Equal(new Count(1, 100), tentative.Counts.Against);
    }

    private static VoteSpec Spec()
    {
        var opened = new AuditRecord("acct_chair", "acct_chair", Now, ChannelRecord.Online, "req_open");
        var design = new BallotDesign(DecisionRuleKind.SimpleMajority, ElectorateKind.PerHousehold, Secret: false, Options: [], MaxChoices: 0, EarlyCloseAllowed: true);
        return new VoteSpec("cy_1", "vote_1", "prop_1", new TerritoryPath("st_1", "cm_1", "cy_1"), design, Now, Now.AddDays(7), opened);
    }

    private static BallotRecorded Ballot(string requestId, string voterId, Choice choice, int revision) =>
        new($"ballot_{requestId}", voterId, choice, [], new AuditRecord($"r_{voterId}", $"acct_{voterId}", Now, ChannelRecord.Online, requestId), revision);
}
