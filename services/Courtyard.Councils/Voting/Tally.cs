using System.Numerics;

namespace Courtyard.Councils.Voting;

/// <summary>How many voters and how much exclusive floor area (dm²).</summary>
[GenerateSerializer, Immutable]
public readonly record struct Count([property: Id(0)] int Voters, [property: Id(1)] long AreaDm2)
{
    public static Count Of(EligibleVoter voter) => new(1, voter.AreaDm2);
    public static Count operator +(Count a, Count b) => new(a.Voters + b.Voters, a.AreaDm2 + b.AreaDm2);
    public static Count operator -(Count a, Count b) => new(a.Voters - b.Voters, a.AreaDm2 - b.AreaDm2);
}

/// <summary>
/// The counts of a vote: kept up to date ballot by ballot (a changed ballot subtracts its predecessor), so recording a
/// ballot costs the same however many came before. <see cref="Recount"/> computes the same from scratch.
/// </summary>
[GenerateSerializer]
public sealed class TallyCounts
{
    [Id(0)] public Count Eligible { get; set; }
    [Id(1)] public Count InFavour { get; set; }
    [Id(2)] public Count Against { get; set; }
    [Id(3)] public Count Abstaining { get; set; }
    /// <summary>Choice votes: per option id, the voters who chose it.</summary>
    [Id(4)] public Dictionary<string, Count> Options { get; set; } = [];
    /// <summary>Voters whose counted ballot is a choice ballot (choice votes only).</summary>
    [Id(5)] public Count ChoiceBallots { get; set; }
    [Id(6)] public int PaperBallots { get; set; }
    [Id(7)] public int ProxyBallots { get; set; }

    public Count Participating => InFavour + Against + Abstaining + ChoiceBallots;

    public void Add(CountedBallot ballot, EligibleVoter voter) => Apply(ballot, voter, +1);

    public void Remove(CountedBallot ballot, EligibleVoter voter) => Apply(ballot, voter, -1);

    private void Apply(CountedBallot ballot, EligibleVoter voter, int sign)
    {
        var count = Count.Of(voter);
        Count Move(Count total) => sign > 0 ? total + count : total - count;
        switch (ballot.Choice)
        {
            case Choice.For: InFavour = Move(InFavour); break;
            case Choice.Against: Against = Move(Against); break;
            case Choice.Abstain: Abstaining = Move(Abstaining); break;
            default:
                ChoiceBallots = Move(ChoiceBallots);
                foreach (var option in ballot.OptionIds)
                    Options[option] = Move(Options.GetValueOrDefault(option));
                break;
        }
        if (ballot.Channel == ChannelKind.Paper) PaperBallots += sign;
        if (ballot.Channel == ChannelKind.Proxy) ProxyBallots += sign;
    }

    /// <summary>The counts from the electorate and each voter's counted ballot, in any order.</summary>
    public static TallyCounts Recount(IEnumerable<EligibleVoter> electorate, IEnumerable<CountedBallot> countedBallots, IEnumerable<string> optionIds)
    {
        var voters = electorate.ToDictionary(voter => voter.VoterId);
        var counts = new TallyCounts { Eligible = voters.Values.Aggregate(default(Count), (sum, voter) => sum + Count.Of(voter)) };
        foreach (var option in optionIds) counts.Options[option] = default;
        foreach (var ballot in countedBallots) counts.Add(ballot, voters[ballot.VoterId]);
        return counts;
    }

    public TallyCounts Copy() => new()
    {
        Eligible = Eligible, InFavour = InFavour, Against = Against, Abstaining = Abstaining,
        Options = new Dictionary<string, Count>(Options), ChoiceBallots = ChoiceBallots,
        PaperBallots = PaperBallots, ProxyBallots = ProxyBallots,
    };
}

/// <summary>How a ballot reached the vote.</summary>
public enum ChannelKind
{
    Online = 0,
    Paper = 1,
    Proxy = 2,
}

/// <summary>What a voter's counted (last) ballot says.</summary>
[GenerateSerializer, Immutable]
public sealed record CountedBallot(
    [property: Id(0)] string VoterId,
    [property: Id(1)] Choice Choice,
    [property: Id(2)] string[] OptionIds,
    [property: Id(3)] ChannelKind Channel);

/// <summary>What the rule makes of the counts.</summary>
public sealed record Decision(Outcome Outcome, bool ParticipationMet, string? WinningOptionId);

public static class Decide
{
    /// <summary>The outcome the counts give under the rule if the vote closed now.</summary>
    public static Decision Outcome(DecisionRule rule, TallyCounts counts, IReadOnlyList<VoteOptionSpec> options)
    {
        var participating = counts.Participating;
        if (rule.Participation is { } participation)
        {
            var met = participation.IsMetBy(participating.AreaDm2, counts.Eligible.AreaDm2)
                      && participation.IsMetBy(participating.Voters, counts.Eligible.Voters)
                      && counts.Eligible.Voters > 0;
            if (!met) return new Decision(Voting.Outcome.ParticipationNotMet, false, null);
            var approval = rule.Approval!;
            var passed = approval.IsMetBy(counts.InFavour.AreaDm2, participating.AreaDm2)
                         && approval.IsMetBy(counts.InFavour.Voters, participating.Voters);
            return new Decision(passed ? Voting.Outcome.Passed : Voting.Outcome.Rejected, true, null);
        }

        if (options.Count > 0)
        {
            var winner = StrictWinner(options, counts);
            return new Decision(winner is null ? Voting.Outcome.Rejected : Voting.Outcome.Passed, true, winner?.Id);
        }
        var majority = (BigInteger)counts.InFavour.Voters > counts.Against.Voters;
        return new Decision(majority ? Voting.Outcome.Passed : Voting.Outcome.Rejected, true, null);
    }

    /// <summary>The option chosen by strictly more voters than any other; null on a tie for first or with no ballots.</summary>
    public static VoteOptionSpec? StrictWinner(IReadOnlyList<VoteOptionSpec> options, TallyCounts counts)
    {
        var ranked = options.Select(option => (option, votes: counts.Options.GetValueOrDefault(option.Id).Voters))
                            .OrderByDescending(entry => entry.votes).ToList();
        if (ranked.Count == 0 || ranked[0].votes == 0) return null;
        return ranked.Count > 1 && ranked[1].votes == ranked[0].votes ? null : ranked[0].option;
    }
}
