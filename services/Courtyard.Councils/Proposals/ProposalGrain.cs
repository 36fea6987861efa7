using Courtyard.Councils.Council;
using Courtyard.Councils.IntegrationEvents;
using Courtyard.Councils.Notices;
using Courtyard.Councils.Roll;
using Courtyard.Councils.Voting;
using Courtyard.Events;
using Courtyard.ServiceDefaults;
using Courtyard.Storage;

namespace Courtyard.Councils.Proposals;

[GenerateSerializer]
public sealed class ProposalState : IHasPendingEffects
{
    [Id(0)] public TableCommand? Tabling { get; set; }
    [Id(1)] public TerritoryPath? Territory { get; set; }
    [Id(2)] public ProposalStatus Status { get; set; }
    [Id(3)] public List<Revision> Revisions { get; set; } = [];
    [Id(4)] public AuditRecord? Tabled { get; set; }
    /// <summary>A petition's co-signatures, one per household (signing stops at the threshold, so this stays small).</summary>
    [Id(5)] public Dictionary<string, Signature> Signatures { get; set; } = [];
    [Id(6)] public int HouseholdsRequired { get; set; }
    [Id(7)] public DateTimeOffset? PetitionTabledAt { get; set; }
    [Id(8)] public string VoteId { get; set; } = "";
    [Id(9)] public TallySnapshot? FinalTally { get; set; }
    [Id(10)] public string WithdrawnByRequest { get; set; } = "";
    [Id(11)] public string VoteOpenedByRequest { get; set; } = "";
    [Id(12)] public bool IsPetition { get; set; }

    [field: NonSerialized] public PendingEffects Effects { get; } = new();
}

[GrainType("councils.proposal")]
public sealed class ProposalGrain(
    [PersistentState("proposal", CouncilsNames.Storage)] IPersistentState<ProposalState> proposal,
    CouncilsClock clock) : Grain, IProposalGrain
{
    private ProposalState State => proposal.State;

    private (string CourtyardId, string ProposalId) Key => Ids.SplitGrainKey(this.GetPrimaryKeyString());

    private IRollGrain Roll => GrainFactory.GetGrain<IRollGrain>(Key.CourtyardId);

    private ICouncilGrain Council => GrainFactory.GetGrain<ICouncilGrain>(Key.CourtyardId);

    public async Task<ProposalView> Table(TableCommand command, Caller caller)
    {
        if (State.Tabling is not null) return await View();
        if (!caller.IsCommitteeMember)
            throw RequestRefusedException.PermissionDenied("只有院委会委员可以提出议题；居民可以发起联名。", "Only committee members table proposals; residents can start a petition.");
        CheckText(command.Title, command.Body);
        ProposalKinds.CheckBallotDesign(ProposalKinds.For(command.Kind, command.CivilCode278Item), command.Design);
        if (command.DeliberationEndsAt is { } ends && ends <= clock.Now)
            throw RequestRefusedException.InvalidArgument("讨论截止时间必须在将来。", "Deliberation must end in the future.");

        await Start(command, caller, ProposalStatus.Deliberation);
        Raise(CouncilsEvents.ProposalTabled(await View()));
        await WriteAndIndex();
        return await View();
    }

    public async Task<ProposalView> StartPetition(TableCommand command, Caller caller)
    {
        if (State.Tabling is not null) return await View();
        CheckText(command.Title, command.Body);
        ProposalKinds.CheckBallotDesign(ProposalKinds.For(command.Kind, command.CivilCode278Item), command.Design);
        if (command.CollectUntil is not { } until || until <= clock.Now)
            throw RequestRefusedException.InvalidArgument("请设定将来的联名截止时间。", "Set a time in the future until which co-signatures are collected.");
        var roll = await Roll.Summary();
        if (roll.Households == 0)
            throw RequestRefusedException.FailedPrecondition("本院落的名册还没有住户，无法发起联名。", "The courtyard's roll has no households yet, so no petition can start.");
        var settings = (await Council.Overview()).Settings;
        State.HouseholdsRequired = settings.HouseholdsRequired(roll.Households);
        State.IsPetition = true;
        await Start(command, caller, ProposalStatus.CollectingSignatures);
        await WriteAndIndex();
        return await View();
    }

    public async Task<ProposalView> CoSign(string householdId, ChannelRecord channel, Caller caller, string requestId)
    {
        if (State.Tabling is null || !State.IsPetition) throw NotFound();
        if (State.Signatures.ContainsKey(householdId)) return await View();  // one co-signature per household
        if (EffectiveStatus() != ProposalStatus.CollectingSignatures)
            throw RequestRefusedException.FailedPrecondition(
                EffectiveStatus() == ProposalStatus.PetitionExpired ? "联名已过截止时间。" : "联名已达到门槛并提交为议题，无需再签。",
                EffectiveStatus() == ProposalStatus.PetitionExpired ? "The petition's deadline has passed." : "The petition has already been tabled; no more co-signatures are needed.");
        var admitted = ChannelRules.Admit(channel, caller, householdId);
        if (!await Roll.HasHousehold(householdId))
            throw RequestRefusedException.NotFound("名册上没有这一户。", "No such household on the courtyard's roll.");
        if (admitted.Kind == Voting.ChannelKind.Online && !await Roll.LivesIn(caller.ResidentIds, householdId))
            throw RequestRefusedException.PermissionDenied("只能为自己所住的户联名。", "You can co-sign only for the household you live in.");

        var now = clock.Now;
        State.Signatures[householdId] = new Signature(householdId, new AuditRecord(householdId, caller.AccountId, now, admitted, requestId));
        if (State.Signatures.Count >= State.HouseholdsRequired)
        {
            State.Status = ProposalStatus.Deliberation;
            State.PetitionTabledAt = now;
            var view = await View();
            Raise(CouncilsEvents.PetitionTabled(view));
            Raise(CouncilsEvents.ProposalTabled(view));
        }
        await WriteAndIndex();
        return await View();
    }

    public async Task<ProposalView> Revise(string title, string body, string note, Caller caller, string requestId)
    {
        if (State.Tabling is null) throw NotFound();
        if (State.Revisions.Any(revision => revision.Audit.RequestId == requestId)) return await View();
        if (!caller.IsCommitteeMember)
            throw RequestRefusedException.PermissionDenied("只有院委会委员可以修改议题文本。", "Only committee members can revise a proposal.");
        if (EffectiveStatus() != ProposalStatus.Deliberation)
            throw RequestRefusedException.FailedPrecondition("只有讨论中的议题可以修改；表决开始后文本不再改变。", "Only a proposal in deliberation can be revised; its text is fixed once voting opens.");
        CheckText(title, body);
        State.Revisions.Add(new Revision(State.Revisions.Count + 1, title.Trim(), body.Trim(), note.Trim(),
            new AuditRecord(caller.AccountId, caller.AccountId, clock.Now, ChannelRecord.Online, requestId)));
        await WriteAndIndex();
        return await View();
    }

    public async Task<CommentView> Comment(string text, ChannelRecord channel, Caller caller, string requestId)
    {
        if (State.Tabling is null) throw NotFound();
        var discussion = GrainFactory.GetGrain<IDiscussionGrain>(this.GetPrimaryKeyString());
        var id = Ids.Comment(Key.ProposalId, requestId);
        if (EffectiveStatus() is not (ProposalStatus.Deliberation or ProposalStatus.CollectingSignatures))
            throw RequestRefusedException.FailedPrecondition("讨论已结束，不能再发表意见。", "Deliberation has ended: comments are closed.");
        if (string.IsNullOrWhiteSpace(text) || text.Length > 4000)
            throw RequestRefusedException.InvalidArgument("请写下意见（不超过 4000 字）。", "Write a comment (at most 4,000 characters).");
        var admitted = ChannelRules.Admit(channel, caller, caller.AccountId);
        return await discussion.Post(new CommentView(id, Key.ProposalId, text.Trim(),
            new AuditRecord(caller.AccountId, caller.AccountId, clock.Now, admitted, requestId), State.Revisions.Count));
    }

    public async Task<ProposalView> Withdraw(string reason, Caller caller, string requestId)
    {
        if (State.Tabling is null) throw NotFound();
        if (State.WithdrawnByRequest == requestId) return await View();
        if (!caller.IsCommitteeMember && caller.AccountId != State.Tabled!.ActorId)
            throw RequestRefusedException.PermissionDenied("只有院委会委员或发起人可以撤回议题。", "Only a committee member or whoever started it can withdraw a proposal.");
        if (EffectiveStatus() is not (ProposalStatus.Deliberation or ProposalStatus.CollectingSignatures))
            throw RequestRefusedException.FailedPrecondition("表决开始后不能撤回议题。", "A proposal cannot be withdrawn once voting has opened.");
        State.Status = ProposalStatus.Withdrawn;
        State.WithdrawnByRequest = requestId;
        await WriteAndIndex();
        return await View();
    }

    public async Task<VoteView> OpenVote(DateTimeOffset closesAt, Caller caller, string requestId)
    {
        if (State.Tabling is null) throw NotFound();
        var vote = GrainFactory.GetGrain<IVoteGrain>(Ids.GrainKey(Key.CourtyardId, Ids.VoteOf(Key.ProposalId)));
        if (State.Status == ProposalStatus.Voting && State.VoteOpenedByRequest == requestId) return (await vote.Get())!;
        if (!caller.IsCommitteeMember)
            throw RequestRefusedException.PermissionDenied("只有院委会委员可以开始表决。", "Only committee members can open a vote.");
        if (EffectiveStatus() != ProposalStatus.Deliberation)
            throw RequestRefusedException.FailedPrecondition("只有讨论中的议题可以开始表决。", "Only a proposal in deliberation can be put to a vote.");
        var now = clock.Now;
        if (closesAt <= now.AddSeconds(1))
            throw RequestRefusedException.InvalidArgument("表决截止时间必须在将来。", "Voting must close in the future.");

        var design = State.Tabling.Design;
        var electorate = await Roll.Electorate(design.Electorate, DecisionRules.For(design.Rule).OwnersByAreaPerHousehold);
        var spec = new VoteSpec(Key.CourtyardId, Ids.VoteOf(Key.ProposalId), Key.ProposalId, State.Territory!, design, now, closesAt,
            new AuditRecord(caller.AccountId, caller.AccountId, now, ChannelRecord.Online, requestId));
        // The vote is opened first: if this grain fails before its own write, a retry finds the vote open and catches up.
        var opened = await vote.Open(spec, electorate);
        State.Status = ProposalStatus.Voting;
        State.VoteId = spec.VoteId;
        State.VoteOpenedByRequest = requestId;
        Raise(CouncilsEvents.VotingOpened(opened));
        await WriteAndIndex();
        return opened;
    }

    public async Task RecordResult(TallySnapshot final)
    {
        if (State.Tabling is null || !final.Final) return;
        if (State.Status == ProposalStatus.Voting)
        {
            State.Status = final.Outcome == Outcome.Passed ? ProposalStatus.Passed : ProposalStatus.Rejected;
            State.FinalTally = final;
            var view = await View();
            Raise(CouncilsEvents.VoteClosed(view, final));
            if (State.Status == ProposalStatus.Passed) Raise(CouncilsEvents.ProposalPassed(view, final));
            else Raise(CouncilsEvents.ProposalRejected(view, final));
            await WriteAndIndex();
        }
        if (State.FinalTally is not null)
            await PostResultNotice(State.FinalTally);
    }

    public async Task<ProposalView?> Get() => State.Tabling is null ? null : await View();

    /// <summary>The notice of the result, posted by Councils itself; idempotent, so a retried report posts it once.</summary>
    private async Task PostResultNotice(TallySnapshot final)
    {
        var settings = (await Council.Overview()).Settings;
        var title = State.Revisions[^1].Title;
        var passed = final.Outcome == Outcome.Passed;
        var rule = DecisionRules.For(final.Rule);
        var bodyZh = $"议题「{title}」的表决已于 {final.AsOf.ToOffset(TimeSpan.FromHours(8)):yyyy年M月d日 HH:mm} 截止，按{rule.NameZh}规则，结果为{(passed ? "通过" : "未通过")}。\n{final.ExplanationZh}。"
                     + (final.Counts.PaperBallots + final.Counts.ProxyBallots > 0 ? $"\n其中纸质票 {final.Counts.PaperBallots} 张、委托票 {final.Counts.ProxyBallots} 张，均由院委会录入并留档备查。" : "")
                     + "\n如有异议，请在异议期内通过平台或书面向院委会提出。";
        var bodyEn = $"Voting on \"{title}\" closed at {final.AsOf:yyyy-MM-dd HH:mm} UTC under the rule \"{rule.NameEn}\": {(passed ? "passed" : "not passed")}.\n{final.ExplanationEn}."
                     + (final.Counts.PaperBallots + final.Counts.ProxyBallots > 0 ? $"\n{final.Counts.PaperBallots} paper and {final.Counts.ProxyBallots} proxy ballots were entered by the committee and are kept for inspection." : "")
                     + "\nObjections may be raised with the committee, online or in writing, within the objection window.";
        var command = new PostCommand("result:" + final.VoteId, NoticeKind.VoteResult, "ENTITY_KIND_VOTE", final.VoteId, CouncilsNames.Service,
            $"表决结果公示：{title}", $"Result of the vote: {title}", bodyZh, bodyEn,
            settings.NoticeDisplayDays, settings.NoticeObjectionDays, "", State.Territory!);
        await GrainFactory.GetGrain<INoticeGrain>(Ids.GrainKey(Key.CourtyardId, Ids.ResultNoticeOf(final.VoteId))).Post(command, caller: null);
    }

    private async Task Start(TableCommand command, Caller caller, ProposalStatus status)
    {
        var now = clock.Now;
        State.Tabling = command;
        State.Territory = (await Roll.Summary()).Territory ?? new TerritoryPath("", "", Key.CourtyardId);
        State.Status = status;
        State.Tabled = new AuditRecord(caller.AccountId, caller.AccountId, now, ChannelRecord.Online, command.RequestId);
        State.Revisions = [new Revision(1, command.Title.Trim(), command.Body.Trim(), "", State.Tabled)];
    }

    private ProposalStatus EffectiveStatus() =>
        State.Status == ProposalStatus.CollectingSignatures && clock.Now >= State.Tabling!.CollectUntil ? ProposalStatus.PetitionExpired : State.Status;

    private async Task<ProposalView> View()
    {
        var tabling = State.Tabling!;
        var current = State.Revisions[^1];
        var comments = await GrainFactory.GetGrain<IDiscussionGrain>(this.GetPrimaryKeyString()).Count();
        return new ProposalView(Key.ProposalId, State.Territory!, current.Title, current.Body, tabling.Kind, tabling.CivilCode278Item,
            tabling.Effect, EffectiveStatus(), tabling.MatterIds,
            State.IsPetition ? new PetitionView(State.HouseholdsRequired, [.. State.Signatures.Values], tabling.CollectUntil!.Value, State.PetitionTabledAt) : null,
            tabling.DeliberationEndsAt, State.VoteId, State.Tabled!, tabling.Design, [.. State.Revisions],
            State.FinalTally is null ? "" : Ids.ResultNoticeOf(State.VoteId), State.FinalTally, comments);
    }

    /// <summary>The one place this grain raises integration events: committed with its next state write.</summary>
    private void Raise<T>(T message) where T : Google.Protobuf.IMessage<T> => State.Raise(Key.CourtyardId, message);

    private async Task WriteAndIndex()
    {
        try
        {
            await proposal.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
        await Council.ProposalChanged(new ProposalEntry(Key.ProposalId, State.Status, State.Tabled!.At, State.VoteId, State.Tabling!.CollectUntil));
    }

    private static void CheckText(string title, string body)
    {
        if (string.IsNullOrWhiteSpace(title) || title.Length > 200)
            throw RequestRefusedException.InvalidArgument("请填写议题标题（不超过 200 字）。", "Give the proposal a title (at most 200 characters).");
        if (string.IsNullOrWhiteSpace(body) || body.Length > 20000)
            throw RequestRefusedException.InvalidArgument("请填写议题内容（不超过 20000 字）。", "Describe the proposal (at most 20,000 characters).");
    }

    private static RequestRefusedException NotFound() => RequestRefusedException.NotFound("没有找到这个议题。", "No such proposal in this courtyard.");
}
