using Courtyard.Councils.Proposals;
using Courtyard.Councils.Voting;
using Orleans.Concurrency;

namespace Courtyard.Councils.Council;

/// <summary>A courtyard's council settings (see courtyard.councils.v1.CouncilSettings).</summary>
[GenerateSerializer, Immutable]
public sealed record CouncilSettings(
    [property: Id(0)] int PetitionThresholdPercent,
    [property: Id(1)] int NoticeDisplayDays,
    [property: Id(2)] int NoticeObjectionDays)
{
    public static readonly CouncilSettings Default = new(10, 7, 7);

    /// <summary>Households a petition needs: the threshold share of the households on the roll, rounded up, at least one.</summary>
    public int HouseholdsRequired(int householdsOnRoll) =>
        Math.Max(1, (int)(((long)householdsOnRoll * PetitionThresholdPercent + 99) / 100));
}

/// <summary>One line of the council's index of proposals.</summary>
[GenerateSerializer, Immutable]
public sealed record ProposalEntry(
    [property: Id(0)] string ProposalId,
    [property: Id(1)] ProposalStatus Status,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] string VoteId,
    [property: Id(4)] DateTimeOffset? CollectUntil);

/// <summary>One line of the council's index of notices.</summary>
[GenerateSerializer, Immutable]
public sealed record NoticeEntry(
    [property: Id(0)] string NoticeId,
    [property: Id(1)] DateTimeOffset PostedAt,
    [property: Id(2)] DateTimeOffset DisplayUntil);

[GenerateSerializer, Immutable]
public sealed record CouncilOverview(
    [property: Id(0)] CouncilSettings Settings,
    [property: Id(1)] ProposalEntry[] Proposals,
    [property: Id(2)] TallySnapshot[] OpenVoteTallies,
    [property: Id(3)] NoticeEntry[] Notices);

/// <summary>
/// A courtyard's council, keyed by the courtyard id: its settings, the index of its proposals and notices, and — in
/// memory, pushed by the votes — the live tallies of its open votes. It never calls another grain, so every other
/// grain may call it without a cycle.
/// </summary>
public interface ICouncilGrain : IGrainWithStringKey
{
    [AlwaysInterleave]
    Task<CouncilOverview> Overview();

    Task<CouncilSettings> UpdateSettings(CouncilSettings settings, Caller caller);

    Task ProposalChanged(ProposalEntry entry);

    Task NoticePosted(NoticeEntry entry);

    /// <summary>The latest tally of an open vote (one-way: the vote does not wait).</summary>
    [OneWay]
    Task TallyChanged(TallySnapshot tally);
}
