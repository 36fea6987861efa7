using Courtyard.Councils.Voting;

namespace Courtyard.Councils.Tests.Voting;

/// <summary>The decision rules' arithmetic at its boundaries, and a property: the result does not depend on ballot order.</summary>
public sealed class DecisionRulesTests
{
    private static EligibleVoter Voter(int i, long area) => new($"hh_{i}", area, [], $"{i}");

    /// <summary>Counts for an art. 278 vote over <paramref name="voters"/> households, with the given households' choices.</summary>
    private static (TallyCounts Counts, Decision Decision) Count(DecisionRule rule, EligibleVoter[] voters, params (int Voter, Choice Choice)[] ballots)
    {
        var counts = TallyCounts.Recount(voters, ballots.Select(b => new CountedBallot(voters[b.Voter].VoterId, b.Choice, [], ChannelKind.Online)), []);
        return (counts, Decide.Outcome(rule, counts, []));
    }

    private static EligibleVoter[] Equal(int households) => Enumerable.Range(0, households).Select(i => Voter(i, 100)).ToArray();

    [Fact]
    public void Participation_of_exactly_two_thirds_of_area_and_owners_is_met()
    {
        var (_, decision) = Count(DecisionRules.CivilCode278Ordinary, Equal(3), (0, Choice.For), (1, Choice.For));
        Assert.True(decision.ParticipationMet);
        Assert.Equal(Outcome.Passed, decision.Outcome);
    }

    [Fact]
    public void Participation_just_below_two_thirds_of_area_is_not_met_even_with_two_thirds_of_owners()
    {
        // Owners 2/3 take part, but their area is 199 of 300 — one dm² short of 2/3.
        var voters = new[] { Voter(0, 100), Voter(1, 99), Voter(2, 101) };
        var (_, decision) = Count(DecisionRules.CivilCode278Ordinary, voters, (0, Choice.For), (1, Choice.For));
        Assert.Equal(Outcome.ParticipationNotMet, decision.Outcome);
    }

    [Fact]
    public void Participation_needs_two_thirds_of_owners_as_well_as_of_area()
    {
        // One large household holds 80 % of the area, but 1 of 3 owners is not 2/3.
        var voters = new[] { Voter(0, 800), Voter(1, 100), Voter(2, 100) };
        var (_, decision) = Count(DecisionRules.CivilCode278Ordinary, voters, (0, Choice.For));
        Assert.Equal(Outcome.ParticipationNotMet, decision.Outcome);
    }

    [Fact]
    public void Exactly_half_in_favour_fails_an_ordinary_matter()
    {
        var (_, decision) = Count(DecisionRules.CivilCode278Ordinary, Equal(4), (0, Choice.For), (1, Choice.For), (2, Choice.Against), (3, Choice.Against));
        Assert.True(decision.ParticipationMet);
        Assert.Equal(Outcome.Rejected, decision.Outcome);
    }

    [Fact]
    public void More_than_half_of_area_but_exactly_half_of_owners_fails_an_ordinary_matter()
    {
        var voters = new[] { Voter(0, 101), Voter(1, 100), Voter(2, 100), Voter(3, 100) };
        var (_, decision) = Count(DecisionRules.CivilCode278Ordinary, voters, (0, Choice.For), (1, Choice.For), (2, Choice.Against), (3, Choice.Against));
        Assert.Equal(Outcome.Rejected, decision.Outcome);
    }

    [Fact]
    public void Exactly_three_quarters_passes_a_major_matter_and_just_below_fails()
    {
        var (_, exactly) = Count(DecisionRules.CivilCode278Major, Equal(4), (0, Choice.For), (1, Choice.For), (2, Choice.For), (3, Choice.Against));
        Assert.Equal(Outcome.Passed, exactly.Outcome);

        // Three of four owners, but 299 of 400 dm²: just below 3/4 of the area.
        var voters = new[] { Voter(0, 100), Voter(1, 100), Voter(2, 99), Voter(3, 101) };
        var (_, below) = Count(DecisionRules.CivilCode278Major, voters, (0, Choice.For), (1, Choice.For), (2, Choice.For), (3, Choice.Against));
        Assert.Equal(Outcome.Rejected, below.Outcome);
    }

    [Fact]
    public void Abstentions_take_part_but_do_not_approve()
    {
        // 3 of 3 take part; 1 for, 2 abstain: 1/3 in favour fails, though nobody is against.
        var (counts, decision) = Count(DecisionRules.CivilCode278Ordinary, Equal(3), (0, Choice.For), (1, Choice.Abstain), (2, Choice.Abstain));
        Assert.Equal(3, counts.Participating.Voters);
        Assert.Equal(Outcome.Rejected, decision.Outcome);
    }

    [Fact]
    public void Simple_majority_tie_fails_and_abstentions_count_for_neither()
    {
        var (_, tie) = Count(DecisionRules.SimpleMajority, Equal(5), (0, Choice.For), (1, Choice.Against), (2, Choice.Abstain));
        Assert.Equal(Outcome.Rejected, tie.Outcome);
        var (_, more) = Count(DecisionRules.SimpleMajority, Equal(5), (0, Choice.For), (1, Choice.Abstain), (2, Choice.Abstain), (3, Choice.Abstain));
        Assert.Equal(Outcome.Passed, more.Outcome);
    }

    [Fact]
    public void Zero_ballots_decide_nothing()
    {
        Assert.Equal(Outcome.Rejected, Count(DecisionRules.SimpleMajority, Equal(3)).Decision.Outcome);
        Assert.Equal(Outcome.ParticipationNotMet, Count(DecisionRules.CivilCode278Ordinary, Equal(3)).Decision.Outcome);
        Assert.Equal(Outcome.ParticipationNotMet, Count(DecisionRules.CivilCode278Major, Equal(3)).Decision.Outcome);
    }

    [Fact]
    public void One_household_decides_alone()
    {
        Assert.Equal(Outcome.Passed, Count(DecisionRules.CivilCode278Major, Equal(1), (0, Choice.For)).Decision.Outcome);
        Assert.Equal(Outcome.Rejected, Count(DecisionRules.CivilCode278Major, Equal(1), (0, Choice.Against)).Decision.Outcome);
        Assert.Equal(Outcome.Rejected, Count(DecisionRules.SimpleMajority, Equal(1), (0, Choice.Abstain)).Decision.Outcome);
    }

    [Fact]
    public void A_choice_vote_needs_a_strict_winner()
    {
        var options = new[] { new VoteOptionSpec("a", "甲公司"), new VoteOptionSpec("b", "乙公司"), new VoteOptionSpec("c", "丙公司") };
        var voters = Equal(4);
        TallyCounts Choose(params string[][] chosen) => TallyCounts.Recount(voters,
            chosen.Select((ids, i) => new CountedBallot(voters[i].VoterId, Choice.None, ids, ChannelKind.Online)), options.Select(o => o.Id));

        var tie = Decide.Outcome(DecisionRules.SimpleMajority, Choose(["a"], ["b"], ["a"], ["b"]), options);
        Assert.Equal(Outcome.Rejected, tie.Outcome);
        var approval = Decide.Outcome(DecisionRules.SimpleMajority, Choose(["a", "b"], ["b"], ["a", "b"], ["c"]), options);
        Assert.Equal(("b", Outcome.Passed), (approval.WinningOptionId, approval.Outcome));
    }

    [Fact]
    public void The_result_is_explained_in_the_words_residents_read()
    {
        // 95 households of 100 m²; 68 take part (≥ 2/3 of both), 52 for: passes.
        var voters = Equal(95);
        var ballots = Enumerable.Range(0, 68).Select(i => (i, i < 52 ? Choice.For : Choice.Against)).ToArray();
        var (counts, decision) = Count(DecisionRules.CivilCode278Ordinary, voters, ballots);
        var (zh, en) = ResultExplanation.Explain(DecisionRules.CivilCode278Ordinary, ElectorateKind.PerHousehold, counts, decision, [], final: true);
        Assert.Equal("通过：参与表决面积占 71.6%、人数 68/95 户；同意面积占参与面积 76.5%、人数 52/68 户", zh);
        Assert.StartsWith("Passed: participating area 71.6%, owners 68/95 households", en);
    }

    [Fact]
    public void Percentages_round_half_up_for_reading_only()
    {
        Assert.Equal("66.7%", ResultExplanation.Percent(2, 3));
        Assert.Equal("0.1%", ResultExplanation.Percent(1, 2000));
        Assert.Equal("0.0%", ResultExplanation.Percent(0, 0));
    }

    /// <summary>Property: for random electorates and ballot sequences (with changes), the tally kept ballot by ballot equals
    /// a recount of each voter's last ballot, and neither depends on the order the voters' last ballots are counted in.</summary>
    [Fact]
    public void The_result_does_not_depend_on_the_order_of_the_ballots()
    {
        var random = new Random(278);
        for (var run = 0; run < 300; run++)
        {
            var voters = Enumerable.Range(0, random.Next(1, 30)).Select(i => Voter(i, random.Next(4000, 15000))).ToArray();
            var rule = DecisionRules.All[random.Next(DecisionRules.All.Count)];
            var sequence = Enumerable.Range(0, random.Next(0, 60))
                .Select(_ => new CountedBallot(voters[random.Next(voters.Length)].VoterId, (Choice)random.Next(1, 4), [], (ChannelKind)random.Next(0, 3))).ToList();

            var running = TallyCounts.Recount(voters, [], []);
            var last = new Dictionary<string, CountedBallot>();
            foreach (var ballot in sequence)
            {
                if (last.TryGetValue(ballot.VoterId, out var previous)) running.Remove(previous, voters.Single(v => v.VoterId == ballot.VoterId));
                running.Add(ballot, voters.Single(v => v.VoterId == ballot.VoterId));
                last[ballot.VoterId] = ballot;
            }
            var shuffled = last.Values.OrderBy(_ => random.Next()).ToList();
            var recount = TallyCounts.Recount(voters.OrderBy(_ => random.Next()), shuffled, []);

            Assert.Equal(Snapshot(recount), Snapshot(running));
            Assert.Equal(Decide.Outcome(rule, recount, []), Decide.Outcome(rule, running, []));
        }
    }

    private static object Snapshot(TallyCounts counts) =>
        (counts.Eligible, counts.InFavour, counts.Against, counts.Abstaining, counts.Participating, counts.PaperBallots, counts.ProxyBallots);
}
