using Courtyard.Common.V1;
using Courtyard.Councils.Notices;
using Courtyard.Councils.Proposals;
using Courtyard.Councils.Roll;
using Courtyard.Councils.Voting;
using Courtyard.ServiceDefaults;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using V1 = Courtyard.Councils.V1;

namespace Courtyard.Councils.Grpc;

/// <summary>Translations between the contract (courtyard.councils.v1) and the domain, in one place.</summary>
public static class ProtoMapping
{
    // ---- proto → domain ----

    public static (ProposalKind Kind, int Item, byte[] Bytes) ToDomain(V1.ProposalEffect? effect)
    {
        effect ??= new V1.ProposalEffect { General = new() };
        var kind = effect.EffectCase switch
        {
            V1.ProposalEffect.EffectOneofCase.None or V1.ProposalEffect.EffectOneofCase.General => ProposalKind.General,
            V1.ProposalEffect.EffectOneofCase.RuleAmendment => ProposalKind.RuleAmendment,
            V1.ProposalEffect.EffectOneofCase.FundUse => ProposalKind.FundUse,
            V1.ProposalEffect.EffectOneofCase.ProjectAward => ProposalKind.ProjectAward,
            V1.ProposalEffect.EffectOneofCase.ProjectSatisfaction => ProposalKind.ProjectSatisfaction,
            V1.ProposalEffect.EffectOneofCase.CivilCode278 => ProposalKind.CivilCode278,
            _ => throw RequestRefusedException.InvalidArgument("不认识的议题类型。", "Unknown kind of proposal."),
        };
        if (effect.EffectCase == V1.ProposalEffect.EffectOneofCase.None) effect = new V1.ProposalEffect { General = new() };
        if (kind == ProposalKind.RuleAmendment && (effect.RuleAmendment.RulebookId.Length == 0 || effect.RuleAmendment.Changes.Count == 0))
            throw RequestRefusedException.InvalidArgument("修订院规民约的议题需要写明院规和条款改动。", "A rule amendment must name the rulebook and carry its article changes.");
        if (kind == ProposalKind.FundUse && (effect.FundUse.Amount is null || effect.FundUse.Amount.Fen <= 0 || effect.FundUse.Amount.Currency != "CNY"))
            throw RequestRefusedException.InvalidArgument("经费使用议题需要写明金额（人民币，大于零）。", "A fund-use proposal needs a positive amount in CNY.");
        return (kind, kind == ProposalKind.CivilCode278 ? effect.CivilCode278.Item : 0, effect.ToByteArray());
    }

    public static BallotDesign ToDomain(V1.BallotDesign? design)
    {
        design ??= new V1.BallotDesign();
        if (design.Rule == V1.VoteRule.Unspecified)
            throw RequestRefusedException.InvalidArgument("请选择表决规则。", "Choose the vote rule.");
        if (design.Electorate == V1.Electorate.Unspecified)
            throw RequestRefusedException.InvalidArgument("请选择按户还是按人表决。", "Choose whether the vote is per household or per resident.");
        return new BallotDesign((DecisionRuleKind)design.Rule, (ElectorateKind)design.Electorate, design.Secret,
            design.Options.Select(option => new VoteOptionSpec(option.Id.Trim(), option.Label.Trim())).ToArray(),
            design.Options.Count == 0 ? 0 : design.MaxChoices, design.EarlyCloseAllowed);
    }

    public static ChannelRecord ToDomain(Channel? channel) => channel?.KindCase switch
    {
        Channel.KindOneofCase.Paper => new ChannelRecord(ChannelKind.Paper, PaperSerial: channel.Paper.PaperSerial.Trim(), ScanUri: channel.Paper.ScanUri),
        Channel.KindOneofCase.Proxy => new ChannelRecord(ChannelKind.Proxy, ProxyId: channel.Proxy.ProxyId.Trim(), WitnessId: channel.Proxy.WitnessId.Trim(),
            AuthorizationRef: channel.Proxy.AuthorizationRef, Reason: channel.Proxy.Reason.Trim()),
        _ => ChannelRecord.Online,
    };

    public static DateTimeOffset? ToDomain(Timestamp? time) => time is null ? null : time.ToDateTimeOffset();

    // ---- domain → proto ----

    public static Timestamp ToProto(DateTimeOffset time) => Timestamp.FromDateTimeOffset(time);

    public static Channel ToProto(ChannelRecord channel) => channel.Kind switch
    {
        ChannelKind.Paper => new Channel { Paper = new Channel.Types.PaperEntry { EnteredById = channel.EnteredById, PaperSerial = channel.PaperSerial, ScanUri = channel.ScanUri } },
        ChannelKind.Proxy => new Channel
        {
            Proxy = new Channel.Types.ProxyEntry { ProxyId = channel.ProxyId, WitnessId = channel.WitnessId, AuthorizationRef = channel.AuthorizationRef, Reason = channel.Reason },
        },
        _ => new Channel { Online = new Channel.Types.Online() },
    };

    public static Audit ToProto(AuditRecord audit) => new()
    {
        ActorId = audit.ActorId, RecordedById = audit.RecordedById, At = ToProto(audit.At), Channel = ToProto(audit.Channel), RequestId = audit.RequestId,
    };

    public static TerritoryRef ToProto(TerritoryPath territory) => new()
    {
        StreetId = territory.StreetId, CommunityId = territory.CommunityId, CourtyardId = territory.CourtyardId,
    };

    public static V1.BallotDesign ToProto(BallotDesign design)
    {
        var proto = new V1.BallotDesign
        {
            Rule = (V1.VoteRule)design.Rule, Electorate = (V1.Electorate)design.Electorate, Secret = design.Secret,
            MaxChoices = design.MaxChoices, EarlyCloseAllowed = design.EarlyCloseAllowed,
        };
        proto.Options.AddRange(design.Options.Select(option => new V1.VoteOption { Id = option.Id, Label = option.Label }));
        return proto;
    }

    public static V1.ProposalEffect Effect(ProposalView proposal) => V1.ProposalEffect.Parser.ParseFrom(proposal.Effect);

    public static V1.Proposal ToProto(ProposalView proposal)
    {
        var proto = new V1.Proposal
        {
            Id = proposal.Id, Territory = ToProto(proposal.Territory), Title = proposal.Title, Body = proposal.Body,
            Effect = Effect(proposal), Status = (V1.ProposalStatus)proposal.Status, VoteId = proposal.VoteId, Tabled = ToProto(proposal.Tabled),
            CommentCount = proposal.CommentCount, Ballot = ToProto(proposal.Design), NoticeId = proposal.NoticeId,
        };
        proto.MatterIds.AddRange(proposal.MatterIds);
        if (proposal.DeliberationEndsAt is { } ends) proto.DeliberationEndsAt = ToProto(ends);
        if (proposal.FinalTally is { } final) proto.FinalTally = ToProto(final);
        proto.Revisions.AddRange(proposal.Revisions.Select(revision => new V1.ProposalRevision
        {
            Number = revision.Number, Title = revision.Title, Body = revision.Body, Note = revision.Note, Audit = ToProto(revision.Audit),
        }));
        if (proposal.Petition is { } petition)
        {
            proto.Petition = new V1.PetitionProgress
            {
                HouseholdsRequired = petition.HouseholdsRequired, HouseholdsSigned = petition.Signatures.Length, CollectUntil = ToProto(petition.CollectUntil),
            };
            if (petition.TabledAt is { } tabledAt) proto.Petition.TabledAt = ToProto(tabledAt);
            proto.Petition.Signatures.AddRange(petition.Signatures.OrderBy(s => s.Audit.At)
                .Select(signature => new V1.PetitionSignature { HouseholdId = signature.HouseholdId, Audit = ToProto(signature.Audit) }));
        }
        return proto;
    }

    public static V1.ProposalComment ToProto(CommentView comment) => new()
    {
        Id = comment.Id, ProposalId = comment.ProposalId, Text = comment.Text, Audit = ToProto(comment.Audit), Revision = comment.Revision,
    };

    public static V1.Vote ToProto(VoteView vote)
    {
        var spec = vote.Spec;
        var proto = new V1.Vote
        {
            Id = spec.VoteId, ProposalId = spec.ProposalId, Territory = ToProto(spec.Territory), Rule = (V1.VoteRule)spec.Design.Rule,
            Electorate = (V1.Electorate)spec.Design.Electorate, Secret = spec.Design.Secret, OpenedAt = ToProto(spec.OpenedAt),
            ClosesAt = ToProto(spec.ClosesAt), Status = vote.Closed ? V1.VoteStatus.Closed : V1.VoteStatus.Open,
            EligibleVoters = vote.Eligible.Voters, EligibleAreaDm2 = vote.Eligible.AreaDm2, MaxChoices = spec.Design.MaxChoices,
            EarlyCloseAllowed = spec.Design.EarlyCloseAllowed,
        };
        proto.Options.AddRange(spec.Design.Options.Select(option => new V1.VoteOption { Id = option.Id, Label = option.Label }));
        if (vote.ClosedAt is { } closedAt) proto.ClosedAt = ToProto(closedAt);
        return proto;
    }

    public static V1.TallyCount ToProto(Count count) => new() { Voters = count.Voters, AreaDm2 = count.AreaDm2 };

    public static V1.Tally ToProto(TallySnapshot tally)
    {
        var counts = tally.Counts;
        var proto = new V1.Tally
        {
            VoteId = tally.VoteId, Rule = (V1.VoteRule)tally.Rule, Eligible = ToProto(counts.Eligible), Participating = ToProto(counts.Participating),
            InFavour = ToProto(counts.InFavour), Against = ToProto(counts.Against), Abstaining = ToProto(counts.Abstaining),
            PaperBallots = counts.PaperBallots, ProxyBallots = counts.ProxyBallots, ParticipationMet = tally.ParticipationMet,
            Outcome = (V1.VoteOutcome)tally.Outcome, AsOf = ToProto(tally.AsOf), Final = tally.Final, WinningOptionId = tally.WinningOptionId,
            Explanation = new LocalizedText { ZhCn = tally.ExplanationZh, En = tally.ExplanationEn }, Sequence = tally.Sequence,
        };
        proto.Options.AddRange(tally.Options.Select(option => new V1.OptionCount
        {
            OptionId = option.Id, Label = option.Label, Count = ToProto(counts.Options.GetValueOrDefault(option.Id)),
        }));
        return proto;
    }

    public static V1.BallotReceipt ToProto(Receipt receipt) => new()
    {
        BallotId = receipt.BallotId, VoteId = receipt.VoteId, VoterId = receipt.VoterId, Revision = receipt.Revision, Audit = ToProto(receipt.Audit),
    };

    public static V1.Ballot ToProto(BallotRecord ballot, string voteId)
    {
        var proto = new V1.Ballot
        {
            Id = ballot.BallotId, VoteId = voteId, VoterId = ballot.VoterId, Choice = (V1.BallotChoice)ballot.Choice, Revision = ballot.Revision,
            Superseded = ballot.Superseded, Audit = ToProto(ballot.Audit),
        };
        proto.OptionIds.AddRange(ballot.OptionIds);
        return proto;
    }

    public static V1.PublicNotice ToProto(NoticeView notice)
    {
        var content = notice.Content;
        var proto = new V1.PublicNotice
        {
            Id = content.NoticeId, Territory = ToProto(notice.Territory), Kind = (V1.NoticeKind)content.Kind,
            Subject = new EntityRef { Kind = ParseEntityKind(content.SubjectKind), Id = content.SubjectId, Service = content.SubjectService },
            Title = new LocalizedText { ZhCn = content.TitleZh, En = content.TitleEn }, Body = new LocalizedText { ZhCn = content.BodyZh, En = content.BodyEn },
            PostedAt = ToProto(content.PostedAt), ObjectionsCloseAt = ToProto(content.ObjectionsCloseAt), DisplayUntil = ToProto(content.DisplayUntil),
            ContentSha256 = notice.Sha256, SupersedesNoticeId = content.SupersedesNoticeId, ObjectionCount = notice.Objections.Length, Posted = ToProto(notice.Posted),
        };
        proto.Objections.AddRange(notice.Objections.Select(objection => ToProto(objection, content.NoticeId)));
        return proto;
    }

    public static V1.Objection ToProto(ObjectionRecord objection, string noticeId)
    {
        var proto = new V1.Objection { Id = objection.Id, NoticeId = noticeId, Text = objection.Text, Audit = ToProto(objection.Audit) };
        if (objection.AnswerAudit is { } answered) proto.Answer = new V1.ObjectionAnswer { Text = objection.AnswerText, Audit = ToProto(answered) };
        return proto;
    }

    private static readonly Google.Protobuf.Reflection.EnumDescriptor EntityKinds = EntityRef.Descriptor.FindFieldByNumber(EntityRef.KindFieldNumber).EnumType;

    /// <summary>The proto name of an EntityKind ("ENTITY_KIND_VOTE"), as kept in a notice's canonical form.</summary>
    public static string EntityKindName(EntityKind kind) => EntityKinds.FindValueByNumber((int)kind)?.Name ?? "ENTITY_KIND_UNSPECIFIED";

    public static EntityKind ParseEntityKind(string name) => (EntityKind)(EntityKinds.FindValueByName(name)?.Number ?? 0);
}
