using Courtyard.Councils.Proposals;
using Courtyard.Councils.Roll;
using Orleans.Concurrency;

namespace Courtyard.Councils.Voting;

/// <summary>What a vote is: frozen when it opens.</summary>
[GenerateSerializer, Immutable]
public sealed record VoteSpec(
    [property: Id(0)] string CourtyardId,
    [property: Id(1)] string VoteId,
    [property: Id(2)] string ProposalId,
    [property: Id(3)] TerritoryPath Territory,
    [property: Id(4)] BallotDesign Design,
    [property: Id(5)] DateTimeOffset OpenedAt,
    [property: Id(6)] DateTimeOffset ClosesAt,
    [property: Id(7)] AuditRecord Opened);

[GenerateSerializer, Immutable]
public sealed record CastCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string VoterId,
    [property: Id(2)] Choice Choice,
    [property: Id(3)] string[] OptionIds,
    [property: Id(4)] ChannelRecord Channel,
    [property: Id(5)] Caller Caller);

/// <summary>Proof that a ballot was recorded.</summary>
[GenerateSerializer, Immutable]
public sealed record Receipt(
    [property: Id(0)] string BallotId,
    [property: Id(1)] string VoteId,
    [property: Id(2)] string VoterId,
    [property: Id(3)] int Revision,
    [property: Id(4)] AuditRecord Audit);

/// <summary>One recorded ballot with its provenance (the choice is withheld from readers of a secret vote).</summary>
[GenerateSerializer, Immutable]
public sealed record BallotRecord(
    [property: Id(0)] string BallotId,
    [property: Id(1)] string VoterId,
    [property: Id(2)] Choice Choice,
    [property: Id(3)] string[] OptionIds,
    [property: Id(4)] int Revision,
    [property: Id(5)] AuditRecord Audit,
    [property: Id(6)] bool Superseded);

/// <summary>The tally at one moment, with its decision and explanation.</summary>
[GenerateSerializer, Immutable]
public sealed record TallySnapshot(
    [property: Id(0)] string VoteId,
    [property: Id(1)] string ProposalId,
    [property: Id(2)] DecisionRuleKind Rule,
    [property: Id(3)] ElectorateKind Electorate,
    [property: Id(4)] TallyCounts Counts,
    [property: Id(5)] VoteOptionSpec[] Options,
    [property: Id(6)] Outcome Outcome,
    [property: Id(7)] bool ParticipationMet,
    [property: Id(8)] string WinningOptionId,
    [property: Id(9)] bool Final,
    [property: Id(10)] DateTimeOffset AsOf,
    [property: Id(11)] long Sequence,
    [property: Id(12)] string ExplanationZh,
    [property: Id(13)] string ExplanationEn,
    [property: Id(14)] bool ClosedEarly);

[GenerateSerializer, Immutable]
public sealed record VoteView(
    [property: Id(0)] VoteSpec Spec,
    [property: Id(1)] bool Closed,
    [property: Id(2)] DateTimeOffset? ClosedAt,
    [property: Id(3)] Count Eligible);

[GenerateSerializer, Immutable]
public sealed record BallotPage([property: Id(0)] BallotRecord[] Ballots, [property: Id(1)] int NextOffset, [property: Id(2)] int Total);

/// <summary>A watcher of a vote's tally (the WatchTally stream of one caller).</summary>
public interface ITallyObserver : IGrainObserver
{
    void TallyChanged(TallySnapshot tally);
}

/// <summary>
/// One vote, event-sourced: each ballot is one appended event, so recording a ballot costs the same however many were
/// cast before. Keyed "&lt;courtyard id&gt;/&lt;vote id&gt;". Closes itself at closes_at through a durable reminder.
/// </summary>
public interface IVoteGrain : IGrainWithStringKey
{
    /// <summary>Opens the vote over the frozen electorate; a repeated call returns the vote as opened.</summary>
    Task<VoteView> Open(VoteSpec spec, EligibleVoter[] electorate);

    /// <summary>Records a ballot (or changes one) and returns its receipt once durable; a repeated request_id returns the first receipt.</summary>
    [AlwaysInterleave]
    Task<Receipt> Cast(CastCommand command);

    /// <summary>Closes the vote before closes_at: the chair, where the proposal allows it.</summary>
    Task<TallySnapshot> CloseEarly(Caller caller, string requestId, string reason);

    [AlwaysInterleave]
    Task<VoteView?> Get();

    [AlwaysInterleave]
    Task<TallySnapshot?> Tally();

    [AlwaysInterleave]
    Task<BallotPage> Ballots(bool includeSuperseded, int offset, int pageSize);

    /// <summary>Starts (or renews: call again within a minute) a watcher's subscription; returns the tally now.</summary>
    [AlwaysInterleave]
    Task<TallySnapshot?> Watch(ITallyObserver observer);

    [AlwaysInterleave]
    Task Unwatch(ITallyObserver observer);
}
