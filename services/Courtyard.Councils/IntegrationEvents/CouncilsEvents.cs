using Courtyard.Councils.Grpc;
using Courtyard.Councils.Notices;
using Courtyard.Councils.Proposals;
using Courtyard.Councils.Voting;
using V1 = Courtyard.Councils.V1;

namespace Courtyard.Councils.IntegrationEvents;

/// <summary>
/// The integration events Councils publishes (courtyard.councils.v1, events.proto), built from the domain. Each carries
/// what its consumers need, so none has to call back. BallotCast never carries a choice.
/// </summary>
public static class CouncilsEvents
{
    public static V1.ProposalTabled ProposalTabled(ProposalView proposal) => new()
    {
        ProposalId = proposal.Id, Territory = ProtoMapping.ToProto(proposal.Territory), Title = proposal.Title, Effect = ProtoMapping.Effect(proposal),
        PetitionId = proposal.Petition is null ? "" : proposal.Id, Ballot = ProtoMapping.ToProto(proposal.Design), Tabled = ProtoMapping.ToProto(proposal.Tabled),
    };

    public static V1.PetitionTabled PetitionTabled(ProposalView proposal) => new()
    {
        ProposalId = proposal.Id, Territory = ProtoMapping.ToProto(proposal.Territory),
        HouseholdsSigned = proposal.Petition!.Signatures.Length, HouseholdsRequired = proposal.Petition.HouseholdsRequired,
        TabledAt = ProtoMapping.ToProto(proposal.Petition.TabledAt!.Value),
    };

    public static V1.VotingOpened VotingOpened(VoteView vote) => new()
    {
        VoteId = vote.Spec.VoteId, ProposalId = vote.Spec.ProposalId, Territory = ProtoMapping.ToProto(vote.Spec.Territory),
        Rule = (V1.VoteRule)vote.Spec.Design.Rule, Electorate = (V1.Electorate)vote.Spec.Design.Electorate,
        OpenedAt = ProtoMapping.ToProto(vote.Spec.OpenedAt), ClosesAt = ProtoMapping.ToProto(vote.Spec.ClosesAt),
        EligibleVoters = vote.Eligible.Voters, EligibleAreaDm2 = vote.Eligible.AreaDm2,
    };

    /// <summary>Provenance only: who the ballot counts for, who entered it, when and how — never the choice.</summary>
    public static V1.BallotCast BallotCast(VoteSpec vote, BallotRecorded ballot) => new()
    {
        BallotId = ballot.BallotId, VoteId = vote.VoteId, Territory = ProtoMapping.ToProto(vote.Territory), VoterId = ballot.VoterId,
        Revision = ballot.Revision, Audit = ProtoMapping.ToProto(ballot.Audit),
    };

    public static V1.VoteClosed VoteClosed(ProposalView proposal, TallySnapshot final) => new()
    {
        VoteId = final.VoteId, ProposalId = proposal.Id, Territory = ProtoMapping.ToProto(proposal.Territory),
        FinalTally = ProtoMapping.ToProto(final), ClosedEarly = final.ClosedEarly,
    };

    public static V1.ProposalPassed ProposalPassed(ProposalView proposal, TallySnapshot final) => new()
    {
        ProposalId = proposal.Id, Territory = ProtoMapping.ToProto(proposal.Territory), Effect = ProtoMapping.Effect(proposal),
        VoteId = final.VoteId, FinalTally = ProtoMapping.ToProto(final), DecidedAt = ProtoMapping.ToProto(final.AsOf), Title = proposal.Title,
    };

    public static V1.ProposalRejected ProposalRejected(ProposalView proposal, TallySnapshot final) => new()
    {
        ProposalId = proposal.Id, Territory = ProtoMapping.ToProto(proposal.Territory), Effect = ProtoMapping.Effect(proposal),
        VoteId = final.VoteId, FinalTally = ProtoMapping.ToProto(final), DecidedAt = ProtoMapping.ToProto(final.AsOf), Title = proposal.Title,
    };

    public static V1.NoticePosted NoticePosted(NoticeView notice)
    {
        var proto = ProtoMapping.ToProto(notice);
        return new V1.NoticePosted
        {
            NoticeId = proto.Id, Territory = proto.Territory, Kind = proto.Kind, Subject = proto.Subject, ContentSha256 = proto.ContentSha256,
            ObjectionsCloseAt = proto.ObjectionsCloseAt, Title = proto.Title, DisplayUntil = proto.DisplayUntil,
        };
    }

    public static V1.ObjectionRaised ObjectionRaised(NoticeView notice, ObjectionRecord objection)
    {
        var proto = ProtoMapping.ToProto(notice);
        return new V1.ObjectionRaised
        {
            ObjectionId = objection.Id, NoticeId = proto.Id, Territory = proto.Territory, Subject = proto.Subject, Audit = ProtoMapping.ToProto(objection.Audit),
        };
    }
}
