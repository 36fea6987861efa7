using Courtyard.Councils.Roll;
using Courtyard.Councils.Voting;

namespace Courtyard.Councils.Proposals;

/// <summary>Values match courtyard.councils.v1.ProposalStatus.</summary>
public enum ProposalStatus
{
    Deliberation = 1,
    Voting = 2,
    Passed = 3,
    Rejected = 4,
    Withdrawn = 5,
    CollectingSignatures = 6,
    PetitionExpired = 7,
}

/// <summary>What a committee tables, or a resident starts as a petition.</summary>
[GenerateSerializer, Immutable]
public sealed record TableCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string Title,
    [property: Id(2)] string Body,
    [property: Id(3)] ProposalKind Kind,
    [property: Id(4)] int CivilCode278Item,
    [property: Id(5)] byte[] Effect,
    [property: Id(6)] BallotDesign Design,
    [property: Id(7)] string[] MatterIds,
    [property: Id(8)] DateTimeOffset? DeliberationEndsAt,
    [property: Id(9)] DateTimeOffset? CollectUntil);

[GenerateSerializer, Immutable]
public sealed record Revision(
    [property: Id(0)] int Number,
    [property: Id(1)] string Title,
    [property: Id(2)] string Body,
    [property: Id(3)] string Note,
    [property: Id(4)] AuditRecord Audit);

[GenerateSerializer, Immutable]
public sealed record Signature([property: Id(0)] string HouseholdId, [property: Id(1)] AuditRecord Audit);

[GenerateSerializer, Immutable]
public sealed record PetitionView(
    [property: Id(0)] int HouseholdsRequired,
    [property: Id(1)] Signature[] Signatures,
    [property: Id(2)] DateTimeOffset CollectUntil,
    [property: Id(3)] DateTimeOffset? TabledAt);

[GenerateSerializer, Immutable]
public sealed record ProposalView(
    [property: Id(0)] string Id,
    [property: Id(1)] TerritoryPath Territory,
    [property: Id(2)] string Title,
    [property: Id(3)] string Body,
    [property: Id(4)] ProposalKind Kind,
    [property: Id(5)] int CivilCode278Item,
    [property: Id(6)] byte[] Effect,
    [property: Id(7)] ProposalStatus Status,
    [property: Id(8)] string[] MatterIds,
    [property: Id(9)] PetitionView? Petition,
    [property: Id(10)] DateTimeOffset? DeliberationEndsAt,
    [property: Id(11)] string VoteId,
    [property: Id(12)] AuditRecord Tabled,
    [property: Id(13)] BallotDesign Design,
    [property: Id(14)] Revision[] Revisions,
    [property: Id(15)] string NoticeId,
    [property: Id(16)] TallySnapshot? FinalTally,
    [property: Id(17)] int CommentCount);

[GenerateSerializer, Immutable]
public sealed record CommentView(
    [property: Id(0)] string Id,
    [property: Id(1)] string ProposalId,
    [property: Id(2)] string Text,
    [property: Id(3)] AuditRecord Audit,
    [property: Id(4)] int Revision);

/// <summary>
/// One proposal (or petition) of a courtyard, keyed "&lt;courtyard id&gt;/&lt;proposal id&gt;": its text and revisions,
/// its kind and ballot design, the petition's co-signatures, and its decision. It opens its vote and records the
/// vote's result, raising the proposal's integration events and posting the result notice.
/// </summary>
public interface IProposalGrain : IGrainWithStringKey
{
    Task<ProposalView> Table(TableCommand command, Caller caller);

    Task<ProposalView> StartPetition(TableCommand command, Caller caller);

    Task<ProposalView> CoSign(string householdId, ChannelRecord channel, Caller caller, string requestId);

    Task<ProposalView> Revise(string title, string body, string note, Caller caller, string requestId);

    Task<CommentView> Comment(string text, ChannelRecord channel, Caller caller, string requestId);

    Task<ProposalView> Withdraw(string reason, Caller caller, string requestId);

    Task<VoteView> OpenVote(DateTimeOffset closesAt, Caller caller, string requestId);

    /// <summary>Called by the vote when it closed; repeated calls change nothing.</summary>
    Task RecordResult(TallySnapshot final);

    Task<ProposalView?> Get();
}
