namespace Courtyard.Councils.Voting;

/// <summary>Who holds a ballot (values match courtyard.councils.v1.Electorate).</summary>
public enum ElectorateKind
{
    PerHousehold = 1,
    PerResident = 2,
}

/// <summary>A FOR / AGAINST / ABSTAIN choice (values match courtyard.councils.v1.BallotChoice); None on a choice ballot.</summary>
public enum Choice
{
    None = 0,
    For = 1,
    Against = 2,
    Abstain = 3,
}

/// <summary>Values match courtyard.councils.v1.VoteOutcome.</summary>
public enum Outcome
{
    Pending = 1,
    Passed = 2,
    Rejected = 3,
    ParticipationNotMet = 4,
}

/// <summary>One option of a choice vote.</summary>
[GenerateSerializer, Immutable]
public sealed record VoteOptionSpec([property: Id(0)] string Id, [property: Id(1)] string Label);

/// <summary>
/// One voter on the electorate frozen when the vote opened: a household (per household) or a resident (per resident),
/// its exclusive floor area in dm² (counted only by the art. 278 rules), and the residents who may cast its ballot
/// online (the household's representative, or its owners for art. 278, or the resident themselves).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record EligibleVoter(
    [property: Id(0)] string VoterId,
    [property: Id(1)] long AreaDm2,
    [property: Id(2)] string[] OnlineCasters,
    [property: Id(3)] string Label);
