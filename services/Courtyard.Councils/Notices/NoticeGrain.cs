using Courtyard.Councils.Council;
using Courtyard.Councils.IntegrationEvents;
using Courtyard.Councils.Roll;
using Courtyard.Events;
using Courtyard.ServiceDefaults;
using Courtyard.Storage;

namespace Courtyard.Councils.Notices;

[GenerateSerializer]
public sealed class NoticeState : IHasPendingEffects
{
    [Id(0)] public NoticeContent? Content { get; set; }
    /// <summary>The hash fixed at posting.</summary>
    [Id(1)] public string Sha256 { get; set; } = "";
    [Id(2)] public AuditRecord? Posted { get; set; }
    [Id(3)] public TerritoryPath? Territory { get; set; }
    [Id(4)] public List<ObjectionRecord> Objections { get; set; } = [];
    [Id(5)] public string SupersededBy { get; set; } = "";

    [field: NonSerialized] public PendingEffects Effects { get; } = new();
}

[GrainType("councils.notice")]
public sealed class NoticeGrain(
    [PersistentState("notice", CouncilsNames.Storage)] IPersistentState<NoticeState> notice,
    CouncilsClock clock) : Grain, INoticeGrain
{
    private NoticeState State => notice.State;

    private (string CourtyardId, string NoticeId) Key => Ids.SplitGrainKey(this.GetPrimaryKeyString());

    public async Task<NoticeView> Post(PostCommand command, Caller? caller)
    {
        if (State.Content is not null) return View();
        if (caller is { IsCommitteeMember: false })
            throw RequestRefusedException.PermissionDenied("只有院委会委员可以发布公示。", "Only a committee member can post a notice.");
        if (string.IsNullOrWhiteSpace(command.TitleZh) || string.IsNullOrWhiteSpace(command.BodyZh))
            throw RequestRefusedException.InvalidArgument("公示需要中文标题和正文。", "A notice needs a Chinese title and body.");
        if (command.DisplayDays < 1 || command.ObjectionDays < 1 || command.ObjectionDays > command.DisplayDays)
            throw RequestRefusedException.InvalidArgument(
                "公示期和异议期至少 1 天，异议期不能长于公示期。", "Display and objection periods are at least a day, and objections close no later than the display ends.");

        var postedAt = NoticeCanonicalForm.ToSecond(clock.Now);
        var content = new NoticeContent(Key.NoticeId, Key.CourtyardId, command.Kind, command.SubjectKind, command.SubjectId, command.SubjectService,
            command.TitleZh, command.TitleEn, command.BodyZh, command.BodyEn, postedAt,
            postedAt.AddDays(command.ObjectionDays), postedAt.AddDays(command.DisplayDays), command.SupersedesNoticeId);
        State.Content = content;
        State.Sha256 = NoticeCanonicalForm.Sha256(content);
        State.Posted = new AuditRecord(caller?.AccountId ?? CouncilsNames.Service, caller?.AccountId ?? CouncilsNames.Service, postedAt, ChannelRecord.Online, command.RequestId);
        State.Territory = command.Territory;
        Raise(CouncilsEvents.NoticePosted(View()));
        await Write();

        await GrainFactory.GetGrain<ICouncilGrain>(Key.CourtyardId).NoticePosted(new NoticeEntry(Key.NoticeId, content.PostedAt, content.DisplayUntil));
        if (command.SupersedesNoticeId.Length > 0)
            await GrainFactory.GetGrain<INoticeGrain>(Ids.GrainKey(Key.CourtyardId, command.SupersedesNoticeId)).MarkSupersededBy(Key.NoticeId);
        return View();
    }

    public Task<NoticeView?> Get() => Task.FromResult(State.Content is null ? null : View());

    public Task<Verification> Verify(string hash)
    {
        var content = State.Content ?? throw NotFound();
        var recomputed = NoticeCanonicalForm.Sha256(content);
        var intact = recomputed == State.Sha256;
        var given = NoticeCanonicalForm.Normalize(hash);
        if (given.Length > 0 && (given.Length < 16 || given.Length > 64 || !given.All(Uri.IsHexDigit)))
            throw RequestRefusedException.InvalidArgument(
                "请输入公示上印的校验码（至少前 16 位十六进制字符）。", "Enter the hash printed on the notice (at least its first 16 hex digits).");
        var matches = intact && (given.Length == 0 || recomputed.StartsWith(given, StringComparison.Ordinal));
        return Task.FromResult(new Verification(matches, intact, recomputed, View()));
    }

    public async Task<ObjectionRecord> RaiseObjection(string text, ChannelRecord channel, Caller caller, string requestId)
    {
        var content = State.Content ?? throw NotFound();
        var id = Ids.Objection(Key.NoticeId, requestId);
        if (State.Objections.Find(objection => objection.Id == id) is { } earlier) return earlier;
        if (clock.Now >= content.ObjectionsCloseAt)
            throw RequestRefusedException.FailedPrecondition(
                $"异议期已于 {content.ObjectionsCloseAt.ToOffset(TimeSpan.FromHours(8)):yyyy-MM-dd HH:mm} 结束。",
                $"The objection window closed at {content.ObjectionsCloseAt:yyyy-MM-dd HH:mm} UTC.");
        if (string.IsNullOrWhiteSpace(text) || text.Length > 4000)
            throw RequestRefusedException.InvalidArgument("请写明异议内容（不超过 4000 字）。", "Write the objection (at most 4,000 characters).");
        var admitted = ChannelRules.Admit(channel, caller, caller.AccountId);
        var objection = new ObjectionRecord(id, text.Trim(), new AuditRecord(caller.AccountId, caller.AccountId, clock.Now, admitted, requestId), "", null);
        State.Objections.Add(objection);
        Raise(CouncilsEvents.ObjectionRaised(View(), objection));
        await Write();
        return objection;
    }

    public async Task<ObjectionRecord> AnswerObjection(string objectionId, string text, Caller caller, string requestId)
    {
        if (State.Content is null) throw NotFound();
        var index = State.Objections.FindIndex(objection => objection.Id == objectionId);
        if (index < 0) throw RequestRefusedException.NotFound("没有找到这条异议。", "No such objection on this notice.");
        var objection = State.Objections[index];
        if (objection.AnswerAudit?.RequestId == requestId) return objection;
        if (!caller.IsCommitteeMember)
            throw RequestRefusedException.PermissionDenied("只有院委会委员可以答复异议。", "Only a committee member can answer an objection.");
        if (string.IsNullOrWhiteSpace(text))
            throw RequestRefusedException.InvalidArgument("请写明答复内容。", "Write the answer.");
        var answered = objection with { AnswerText = text.Trim(), AnswerAudit = new AuditRecord(caller.AccountId, caller.AccountId, clock.Now, ChannelRecord.Online, requestId) };
        State.Objections[index] = answered;
        await Write();
        return answered;
    }

    public async Task MarkSupersededBy(string noticeId)
    {
        if (State.Content is null || State.SupersededBy == noticeId) return;
        State.SupersededBy = noticeId;
        await Write();
    }

    /// <summary>The one place this grain raises integration events: committed with its next state write.</summary>
    private void Raise<T>(T message) where T : Google.Protobuf.IMessage<T> => State.Raise(Key.CourtyardId, message);

    private NoticeView View() => new(State.Content!, State.Sha256, State.Posted!, State.Territory!, [.. State.Objections], State.SupersededBy);

    private async Task Write()
    {
        try
        {
            await notice.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    private static RequestRefusedException NotFound() => RequestRefusedException.NotFound("没有找到这则公示。", "No such notice in this courtyard.");
}
