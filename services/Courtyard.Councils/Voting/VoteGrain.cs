using Courtyard.Councils.Council;
using Courtyard.Councils.IntegrationEvents;
using Courtyard.Councils.Proposals;
using Courtyard.Events;
using Courtyard.ServiceDefaults;
using Courtyard.Storage;
using Microsoft.Extensions.Logging;
using Orleans.EventSourcing;
using Orleans.EventSourcing.CustomStorage;
using Orleans.Providers;
using Orleans.Utilities;

namespace Courtyard.Councils.Voting;

/// <summary>
/// One vote, event-sourced: each ballot is one appended journal entry (with its BallotCast outbox row, in the same
/// transaction), so a ballot costs the same however many were cast before it; snapshots keep activation short.
/// </summary>
[GrainType("councils.vote")]
[LogConsistencyProvider(ProviderName = CourtyardStorageSiloBuilderExtensions.JournalProviderName)]
public sealed class VoteGrain : JournaledGrain<VoteState, VoteEvent>, IVoteGrain, IRemindable, ICustomStorageInterface<VoteState, VoteEvent>
{
    private const string ClosingReminder = "close";
    /// <summary>Watchers get at most this many tally messages a second; the last change always arrives.</summary>
    private static readonly TimeSpan PushInterval = TimeSpan.FromMilliseconds(200);

    private readonly IJournal<VoteState, VoteEvent> journal;
    private readonly CouncilsClock clock;
    private readonly ILogger<VoteGrain> logger;
    private readonly ObserverManager<ITallyObserver> watchers;
    private IGrainTimer? pendingPush;

    public VoteGrain([Journal(CouncilsNames.Storage)] IJournal<VoteState, VoteEvent> journal, CouncilsClock clock, ILogger<VoteGrain> logger)
    {
        this.journal = journal;
        this.clock = clock;
        this.logger = logger;
        watchers = new ObserverManager<ITallyObserver>(TimeSpan.FromMinutes(1), logger);
    }

    private string CourtyardId => Ids.SplitGrainKey(this.GetPrimaryKeyString()).CourtyardId;

    private string VoteId => Ids.SplitGrainKey(this.GetPrimaryKeyString()).Id;

    protected override void TransitionState(VoteState state, VoteEvent @event) => state.Apply(@event);

    public Task<KeyValuePair<int, VoteState>> ReadStateFromStorage() => journal.ReadAsync(TransitionState);

    public Task<bool> ApplyUpdatesToStorage(IReadOnlyList<VoteEvent> updates, int expectedVersion) =>
        journal.AppendAsync(State, updates, expectedVersion);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await base.OnActivateAsync(cancellationToken);
        await RefreshNow();
        // Reminders do not replay missed ticks: a vote whose closing time passed while no silo held it closes now.
        try
        {
            await CloseIfDueAndReport();
        }
        catch (Exception error)
        {
            // The vote still activates (and refuses late ballots by its deadline); the closing reminder retries.
            logger.LogWarning(error, "Vote {Vote} could not close or report on activation; its reminder retries", this.GetPrimaryKeyString());
        }
    }

    public async Task<VoteView> Open(VoteSpec spec, EligibleVoter[] electorate)
    {
        if (TentativeState.Spec is null)
        {
            if (electorate.Length == 0)
                throw RequestRefusedException.FailedPrecondition("名册上没有可以投票的人，无法开始表决。", "Nobody on the roll can vote in this vote, so it cannot open.");
            RaiseEvent(new VoteOpened(spec, electorate));
            await ConfirmEvents();
            await this.RegisterOrUpdateReminder(ClosingReminder, DueIn(spec.ClosesAt), TimeSpan.FromMinutes(1));
            PublishTally();
        }
        return View()!;
    }

    public async Task<Receipt> Cast(CastCommand command)
    {
        var state = TentativeState;
        if (state.ByRequest.TryGetValue(command.RequestId, out var earlier))
        {
            await ConfirmEvents();
            return ReceiptFor(state.History[earlier]);
        }
        var spec = state.Spec ?? throw NotFound();
        if (state.Closed is not null || clock.Now >= spec.ClosesAt)
            throw RequestRefusedException.FailedPrecondition("表决已截止，不能再投票或改票。", "Voting has closed: ballots can no longer be cast or changed.");
        if (!state.Electorate.TryGetValue(command.VoterId, out var voter))
            throw RequestRefusedException.PermissionDenied(
                "该户（人）不在本次表决开始时确定的选民名册中。", "This household or resident is not on the electorate frozen when the vote opened.");
        var channel = ChannelRules.Admit(command.Channel, command.Caller, command.VoterId);
        if (channel.Kind == ChannelKind.Online && command.Caller.OwnResidentAmong(voter.OnlineCasters) is null)
            throw RequestRefusedException.PermissionDenied(
                spec.Design.Rule == DecisionRuleKind.SimpleMajority
                    ? "只有本户户代表（或本人）可以在线投这一票。" : "业主共同决定事项只能由该户业主投票；租户不能投票。",
                spec.Design.Rule == DecisionRuleKind.SimpleMajority
                    ? "Only the household's representative (or the resident themselves) can cast this ballot online."
                    : "Only an owner of the household can vote on an owners' matter; tenants cannot.");
        var current = state.Counted.TryGetValue(command.VoterId, out var index) ? state.History[index] : null;
        if (channel.Kind == ChannelKind.Proxy && current?.Audit.Channel.Kind == ChannelKind.Online)
            throw RequestRefusedException.FailedPrecondition(
                "本人已在线投票，委托票不再录入。", "The voter has already voted online themselves; a proxy ballot no longer applies.");
        CheckChoice(spec.Design, command);

        var audit = new AuditRecord(command.VoterId, command.Caller.AccountId, clock.Now, channel, command.RequestId);
        var ballot = new BallotRecorded(Ids.Ballot(VoteId, command.RequestId), command.VoterId, command.Choice,
            command.OptionIds.Distinct().ToArray(), audit, (current?.Revision ?? 0) + 1);
        RaiseEvent(ballot);
        journal.Raise(CourtyardId, CouncilsEvents.BallotCast(spec, ballot));
        await ConfirmEvents();
        SchedulePush();
        return ReceiptFor(ballot);
    }

    public async Task<TallySnapshot> CloseEarly(Caller caller, string requestId, string reason)
    {
        var spec = TentativeState.Spec ?? throw NotFound();
        if (TentativeState.Closed is { } closed)
        {
            if (closed.RequestId == requestId) return Snapshot(State, final: true);
            throw RequestRefusedException.FailedPrecondition("表决已经截止。", "The vote has already closed.");
        }
        if (!spec.Design.EarlyCloseAllowed)
            throw RequestRefusedException.FailedPrecondition(
                "该议题不允许提前截止表决，将在截止时间自动结束。", "This proposal does not allow closing its vote early; it closes by itself at closes_at.");
        if (!caller.IsChair)
            throw RequestRefusedException.PermissionDenied("只有院委会主任可以提前截止表决。", "Only the committee chair can close a vote early.");
        await Close(new VoteClosedEvent(clock.Now, Early: true, caller.AccountId, reason, requestId));
        return Snapshot(State, final: true);
    }

    public Task<VoteView?> Get() => Task.FromResult(View());

    public Task<TallySnapshot?> Tally() => Task.FromResult(State.Spec is null ? null : Snapshot(State, final: State.Closed is not null));

    public Task<BallotPage> Ballots(bool includeSuperseded, int offset, int pageSize)
    {
        var state = State;
        var ballots = state.History.Select((ballot, index) => (ballot, superseded: state.Counted[ballot.VoterId] != index))
            .Where(entry => includeSuperseded || !entry.superseded).ToList();
        var secret = state.Spec?.Design.Secret ?? false;
        var page = ballots.Skip(offset).Take(pageSize).Select(entry => new BallotRecord(
            entry.ballot.BallotId, entry.ballot.VoterId,
            secret ? Choice.None : entry.ballot.Choice, secret ? [] : entry.ballot.OptionIds,
            entry.ballot.Revision, entry.ballot.Audit, entry.superseded)).ToArray();
        var next = offset + page.Length;
        return Task.FromResult(new BallotPage(page, next < ballots.Count ? next : 0, ballots.Count));
    }

    public Task<TallySnapshot?> Watch(ITallyObserver observer)
    {
        watchers.Subscribe(observer, observer);
        return Tally();
    }

    public Task Unwatch(ITallyObserver observer)
    {
        watchers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => CloseIfDueAndReport();

    private async Task CloseIfDueAndReport()
    {
        if (State.Spec is null) return;
        if (State.IsOpen && clock.Now >= State.Spec.ClosesAt)
            await Close(new VoteClosedEvent(State.Spec.ClosesAt, Early: false, "", "", ""));
        else if (State.Closed is not null && !State.Reported)
            await ReportResult();
        if (State.Reported && await this.GetReminder(ClosingReminder) is { } reminder)
            await this.UnregisterReminder(reminder);
    }

    private async Task Close(VoteClosedEvent closed)
    {
        RaiseEvent(closed);
        await ConfirmEvents();
        PublishTally();
        await ReportResult();
    }

    /// <summary>
    /// Hands the final tally to the proposal (which decides it, raises its events and posts the notice). Until the
    /// proposal has it, the closing reminder stays, so a crash in between is retried.
    /// </summary>
    private async Task ReportResult()
    {
        var spec = State.Spec!;
        await GrainFactory.GetGrain<IProposalGrain>(Ids.GrainKey(spec.CourtyardId, spec.ProposalId)).RecordResult(Snapshot(State, final: true));
        RaiseEvent(new ResultReported(clock.Now));
        await ConfirmEvents();
    }

    private void SchedulePush()
    {
        pendingPush ??= this.RegisterGrainTimer(() =>
        {
            pendingPush?.Dispose();
            pendingPush = null;
            PublishTally();
            return Task.CompletedTask;
        }, new GrainTimerCreationOptions(PushInterval, Timeout.InfiniteTimeSpan) { Interleave = true });
    }

    /// <summary>The tally now, to every watcher and to the courtyard's council (its live view of open votes).</summary>
    private void PublishTally()
    {
        var snapshot = Snapshot(State, final: State.Closed is not null);
        watchers.Notify(watcher => watcher.TallyChanged(snapshot));
        GrainFactory.GetGrain<ICouncilGrain>(CourtyardId).TallyChanged(snapshot).Ignore();
    }

    private VoteView? View() => State.Spec is null ? null : new VoteView(State.Spec, State.Closed is not null, State.Closed?.At, State.Counts.Eligible);

    private Receipt ReceiptFor(BallotRecorded ballot) => new(ballot.BallotId, VoteId, ballot.VoterId, ballot.Revision, ballot.Audit);

    private TallySnapshot Snapshot(VoteState state, bool final) => Snapshot(state, final, clock.Now);

    public static TallySnapshot Snapshot(VoteState state, bool final, DateTimeOffset now)
    {
        var spec = state.Spec!;
        var rule = DecisionRules.For(spec.Design.Rule);
        var counts = state.Counts.Copy();
        var decision = Decide.Outcome(rule, counts, spec.Design.Options);
        var (zh, en) = ResultExplanation.Explain(rule, spec.Design.Electorate, counts, decision, spec.Design.Options, final);
        return new TallySnapshot(spec.VoteId, spec.ProposalId, spec.Design.Rule, spec.Design.Electorate, counts, spec.Design.Options,
            final ? decision.Outcome : Outcome.Pending, decision.ParticipationMet, decision.WinningOptionId ?? "", final,
            state.Closed?.At ?? now, state.History.Count, zh, en, state.Closed?.Early ?? false);
    }

    private static void CheckChoice(BallotDesign design, CastCommand command)
    {
        if (design.Options.Length == 0)
        {
            if (command.OptionIds.Length > 0 || command.Choice is not (Choice.For or Choice.Against or Choice.Abstain))
                throw RequestRefusedException.InvalidArgument("请选择同意、反对或弃权。", "Choose for, against or abstain.");
            return;
        }
        var chosen = command.OptionIds.Distinct().ToArray();
        if (command.Choice != Choice.None || chosen.Length == 0 || chosen.Length > design.MaxChoices
            || chosen.Any(id => design.Options.All(option => option.Id != id)))
            throw RequestRefusedException.InvalidArgument(
                $"请从列出的选项中选择 1 至 {design.MaxChoices} 项。", $"Choose between 1 and {design.MaxChoices} of the listed options.");
    }

    private TimeSpan DueIn(DateTimeOffset closesAt)
    {
        var due = closesAt - clock.Now;
        return due < TimeSpan.Zero ? TimeSpan.Zero : due > TimeSpan.FromDays(45) ? TimeSpan.FromDays(45) : due;
    }

    private static RequestRefusedException NotFound() =>
        RequestRefusedException.NotFound("没有找到这次表决。", "No such vote in this courtyard.");
}
