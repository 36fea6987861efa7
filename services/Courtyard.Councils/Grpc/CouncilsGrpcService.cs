using System.Threading.Channels;
using Courtyard.Common.V1;
using Courtyard.Councils.Council;
using Courtyard.Councils.Notices;
using Courtyard.Councils.Proposals;
using Courtyard.Councils.Roll;
using Courtyard.Councils.Voting;
using Courtyard.ServiceDefaults;
using Grpc.Core;
using Microsoft.Extensions.Options;
using V1 = Courtyard.Councils.V1;

namespace Courtyard.Councils.Grpc;

/// <summary>
/// courtyard.councils.v1.Councils: each handler checks the request's shape, establishes the caller, translates to the
/// domain and calls one grain. Refusals are RequestRefusedException (a status with a Chinese and an English message),
/// thrown before anything changed.
/// </summary>
public sealed class CouncilsGrpcService(IGrainFactory grains, IOptions<CouncilsOptions> options, CouncilsClock clock) : V1.Councils.CouncilsBase
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;

    // ---- The council ----

    public override async Task<V1.Council> GetCouncil(V1.GetCouncilRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var overview = await Council(courtyardId).Overview();
        var roll = await grains.GetGrain<IRollGrain>(courtyardId).Summary();
        var reply = new V1.Council { CourtyardId = courtyardId, Settings = ToProto(overview.Settings), HouseholdsOnRoll = roll.Households, ResidentsOnRoll = roll.Residents };
        var open = overview.Proposals.Where(entry => entry.Status is ProposalStatus.CollectingSignatures or ProposalStatus.Deliberation or ProposalStatus.Voting).ToList();
        var proposals = await Task.WhenAll(open.Select(entry => Proposal(courtyardId, entry.ProposalId).Get()));
        reply.OpenProposals.AddRange(proposals.OfType<ProposalView>()
            .Where(p => p.Status is ProposalStatus.CollectingSignatures or ProposalStatus.Deliberation or ProposalStatus.Voting).Select(ProtoMapping.ToProto));
        // Live tallies come from the council's memory; a vote it has not heard from since it (re)activated is asked directly.
        var live = overview.OpenVoteTallies.ToDictionary(tally => tally.VoteId);
        foreach (var entry in open.Where(entry => entry.Status == ProposalStatus.Voting && entry.VoteId.Length > 0))
        {
            var tally = live.GetValueOrDefault(entry.VoteId) ?? await Vote(courtyardId, entry.VoteId).Tally();
            if (tally is { Final: false }) reply.OpenVotes.Add(ProtoMapping.ToProto(tally));
        }
        return reply;
    }

    public override async Task<V1.CouncilSettings> UpdateCouncilSettings(V1.UpdateCouncilSettingsRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        RequestId(request.RequestId);
        var settings = request.Settings ?? throw RequestRefusedException.InvalidArgument("请填写设置。", "Give the settings.");
        var saved = await Council(courtyardId).UpdateSettings(
            new CouncilSettings(settings.PetitionThresholdPercent, settings.NoticeDisplayDays, settings.NoticeObjectionDays), Callers.For(context, courtyardId));
        return ToProto(saved);
    }

    public override Task<V1.GetProposalKindsResponse> GetProposalKinds(V1.GetProposalKindsRequest request, ServerCallContext context)
    {
        var reply = new V1.GetProposalKindsResponse();
        reply.Kinds.AddRange(ProposalKinds.All.Select(kind =>
        {
            var info = new V1.ProposalKindInfo
            {
                Kind = V1.ProposalEffect.Descriptor.FindFieldByNumber((int)kind.Kind).Name, CivilCode278Item = kind.CivilCode278Item,
                NameZhCn = kind.NameZh, NameEn = kind.NameEn, OptionsAllowed = kind.OptionsAllowed,
            };
            info.AllowedRules.AddRange(kind.AllowedRules.Select(rule => (V1.VoteRule)rule));
            info.AllowedElectorates.AddRange(kind.AllowedElectorates.Select(electorate => (V1.Electorate)electorate));
            return info;
        }));
        return Task.FromResult(reply);
    }

    // ---- Proposals and petitions ----

    public override async Task<V1.Proposal> TableProposal(V1.TableProposalRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        var caller = Callers.For(context, courtyardId);
        var (kind, item, effect) = ProtoMapping.ToDomain(request.Effect);
        var command = new TableCommand(requestId, request.Title, request.Body, kind, item, effect, ProtoMapping.ToDomain(request.Ballot),
            [.. request.MatterIds], ProtoMapping.ToDomain(request.DeliberationEndsAt), null);
        return ProtoMapping.ToProto(await Proposal(courtyardId, Ids.Proposal(courtyardId, requestId)).Table(command, caller));
    }

    public override async Task<V1.Proposal> StartPetition(V1.StartPetitionRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        var caller = Callers.For(context, courtyardId);
        var (kind, item, effect) = ProtoMapping.ToDomain(request.Effect);
        var command = new TableCommand(requestId, request.Title, request.Body, kind, item, effect, ProtoMapping.ToDomain(request.Ballot),
            [], null, ProtoMapping.ToDomain(request.CollectUntil));
        return ProtoMapping.ToProto(await Proposal(courtyardId, Ids.Proposal(courtyardId, requestId)).StartPetition(command, caller));
    }

    public override async Task<V1.Proposal> CoSignPetition(V1.CoSignPetitionRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        Required(request.HouseholdId, "请指明为哪一户联名。", "Name the household that co-signs.");
        var caller = Callers.For(context, courtyardId);
        return ProtoMapping.ToProto(await Proposal(courtyardId, Required(request.PetitionId, "请指明联名。", "Name the petition."))
            .CoSign(request.HouseholdId, ProtoMapping.ToDomain(request.Channel), caller, requestId));
    }

    public override async Task<V1.Proposal> GetProposal(V1.GetProposalRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var view = await Proposal(courtyardId, request.ProposalId).Get() ?? throw ProposalNotFound();
        return ProtoMapping.ToProto(view);
    }

    public override async Task<V1.ListProposalsResponse> ListProposals(V1.ListProposalsRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var (offset, size) = Page(request.Page);
        var wanted = request.Statuses.Select(status => (ProposalStatus)status).ToHashSet();
        var views = (await Task.WhenAll((await Council(courtyardId).Overview()).Proposals.Select(entry => Proposal(courtyardId, entry.ProposalId).Get())))
            .OfType<ProposalView>().Where(view => wanted.Count == 0 || wanted.Contains(view.Status)).ToList();
        var reply = new V1.ListProposalsResponse { Page = NextPage(offset, size, views.Count) };
        reply.Proposals.AddRange(views.Skip(offset).Take(size).Select(ProtoMapping.ToProto));
        return reply;
    }

    public override async Task<V1.Proposal> ReviseProposal(V1.ReviseProposalRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        var caller = Callers.For(context, courtyardId);
        return ProtoMapping.ToProto(await Proposal(courtyardId, request.ProposalId).Revise(request.Title, request.Body, request.Note, caller, requestId));
    }

    public override async Task<V1.ProposalComment> CommentOnProposal(V1.CommentOnProposalRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        var caller = Callers.For(context, courtyardId);
        return ProtoMapping.ToProto(await Proposal(courtyardId, request.ProposalId).Comment(request.Text, ProtoMapping.ToDomain(request.Channel), caller, requestId));
    }

    public override async Task<V1.ListProposalCommentsResponse> ListProposalComments(V1.ListProposalCommentsRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var (offset, size) = Page(request.Page);
        var page = await grains.GetGrain<IDiscussionGrain>(Ids.GrainKey(courtyardId, request.ProposalId)).List(offset, size);
        var reply = new V1.ListProposalCommentsResponse { Page = NextPage(offset, size, page.Total) };
        reply.Comments.AddRange(page.Comments.Select(ProtoMapping.ToProto));
        return reply;
    }

    public override async Task<V1.Proposal> WithdrawProposal(V1.WithdrawProposalRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        var caller = Callers.For(context, courtyardId);
        return ProtoMapping.ToProto(await Proposal(courtyardId, request.ProposalId).Withdraw(request.Reason, caller, requestId));
    }

    // ---- Votes ----

    public override async Task<V1.Vote> OpenVote(V1.OpenVoteRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        var caller = Callers.For(context, courtyardId);
        var closesAt = ProtoMapping.ToDomain(request.ClosesAt) ?? throw RequestRefusedException.InvalidArgument("请设定表决截止时间。", "Set when voting closes.");
        return ProtoMapping.ToProto(await Proposal(courtyardId, request.ProposalId).OpenVote(closesAt, caller, requestId));
    }

    public override async Task<V1.Vote> GetVote(V1.GetVoteRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        return ProtoMapping.ToProto(await Vote(courtyardId, request.VoteId).Get() ?? throw VoteNotFound());
    }

    public override async Task<V1.BallotReceipt> CastBallot(V1.CastBallotRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        Required(request.VoterId, "请指明这一票属于哪一户（人）。", "Name the household or resident the ballot is for.");
        var caller = Callers.For(context, courtyardId);
        var command = new CastCommand(requestId, request.VoterId, (Choice)request.Choice, [.. request.OptionIds], ProtoMapping.ToDomain(request.Channel), caller);
        return ProtoMapping.ToProto(await Vote(courtyardId, request.VoteId).Cast(command));
    }

    public override async Task<V1.Tally> GetTally(V1.GetTallyRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        return ProtoMapping.ToProto(await Vote(courtyardId, request.VoteId).Tally() ?? throw VoteNotFound());
    }

    public override async Task<V1.Tally> CloseVote(V1.CloseVoteRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        var caller = Callers.For(context, courtyardId);
        return ProtoMapping.ToProto(await Vote(courtyardId, request.VoteId).CloseEarly(caller, requestId, request.Reason));
    }

    public override async Task<V1.ListBallotsResponse> ListBallots(V1.ListBallotsRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var (offset, size) = Page(request.Page);
        var page = await Vote(courtyardId, request.VoteId).Ballots(request.IncludeSuperseded, offset, size);
        var reply = new V1.ListBallotsResponse { Page = NextPage(offset, size, page.Total) };
        reply.Ballots.AddRange(page.Ballots.Select(ballot => ProtoMapping.ToProto(ballot, request.VoteId)));
        return reply;
    }

    /// <summary>
    /// The tally now, then every change — the vote pushes at most five a second, and a slow reader skips to the newest —
    /// until the final tally. The subscription is renewed every 20 s (it lapses after a minute if this process dies).
    /// </summary>
    public override async Task WatchTally(V1.WatchTallyRequest request, IServerStreamWriter<V1.Tally> responseStream, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var vote = Vote(courtyardId, request.VoteId);
        var updates = System.Threading.Channels.Channel.CreateBounded<TallySnapshot>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
        var watcher = new TallyWatcher(updates.Writer);
        var reference = grains.CreateObjectReference<ITallyObserver>(watcher);
        try
        {
            var current = await vote.Watch(reference) ?? throw VoteNotFound();
            long sent = -1;
            while (true)
            {
                if (current.Sequence > sent || current.Final)
                {
                    await responseStream.WriteAsync(ProtoMapping.ToProto(current), context.CancellationToken);
                    sent = current.Sequence;
                }
                if (current.Final) return;
                using var renew = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
                renew.CancelAfter(TimeSpan.FromSeconds(20));
                try
                {
                    current = await updates.Reader.ReadAsync(renew.Token);
                }
                catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
                {
                    current = await vote.Watch(reference) ?? current;
                }
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The watcher went away.
        }
        finally
        {
            await vote.Unwatch(reference);
            grains.DeleteObjectReference<ITallyObserver>(reference);
            GC.KeepAlive(watcher);  // Orleans holds an observer weakly: it must live as long as the stream
        }
    }

    private sealed class TallyWatcher(ChannelWriter<TallySnapshot> updates) : ITallyObserver
    {
        public void TallyChanged(TallySnapshot tally) => updates.TryWrite(tally);
    }

    // ---- Public notices ----

    public override async Task<V1.PublicNotice> PostNotice(V1.PostNoticeRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        var caller = Callers.For(context, courtyardId);
        var settings = (await Council(courtyardId).Overview()).Settings;
        var territory = (await grains.GetGrain<IRollGrain>(courtyardId).Summary()).Territory ?? new TerritoryPath("", "", courtyardId);
        var subject = request.Subject ?? new EntityRef();
        var command = new PostCommand(requestId, request.Kind == V1.NoticeKind.Unspecified ? NoticeKind.General : (NoticeKind)request.Kind,
            ProtoMapping.EntityKindName(subject.Kind), subject.Id, subject.Service,
            request.Title?.ZhCn ?? "", request.Title?.En ?? "", request.Body?.ZhCn ?? "", request.Body?.En ?? "",
            request.DisplayDays == 0 ? settings.NoticeDisplayDays : request.DisplayDays,
            request.ObjectionDays == 0 ? Math.Min(settings.NoticeObjectionDays, request.DisplayDays == 0 ? settings.NoticeDisplayDays : request.DisplayDays) : request.ObjectionDays,
            request.SupersedesNoticeId, territory);
        return ProtoMapping.ToProto(await Notice(courtyardId, Ids.Notice(courtyardId, requestId)).Post(command, caller));
    }

    public override async Task<V1.PublicNotice> GetNotice(V1.GetNoticeRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        return ProtoMapping.ToProto(await Notice(courtyardId, request.NoticeId).Get() ?? throw NoticeNotFound());
    }

    public override async Task<V1.ListNoticesResponse> ListNotices(V1.ListNoticesRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var (offset, size) = Page(request.Page);
        var now = clock.Now;
        var entries = (await Council(courtyardId).Overview()).Notices.Where(entry => !request.CurrentOnly || entry.DisplayUntil > now).ToList();
        var views = await Task.WhenAll(entries.Skip(offset).Take(size).Select(entry => Notice(courtyardId, entry.NoticeId).Get()));
        var reply = new V1.ListNoticesResponse { Page = NextPage(offset, size, entries.Count) };
        reply.Notices.AddRange(views.OfType<NoticeView>().Select(ProtoMapping.ToProto));
        return reply;
    }

    public override async Task<V1.PrintableNotice> GetPrintableNotice(V1.GetPrintableNoticeRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var notice = await Notice(courtyardId, request.NoticeId).Get() ?? throw NoticeNotFound();
        var verifyUrl = $"{options.Value.PublicNoticeBaseUrl.TrimEnd('/')}/{Uri.EscapeDataString(courtyardId)}/{Uri.EscapeDataString(notice.Content.NoticeId)}?h={notice.Sha256[..16]}";
        var closes = notice.Content.ObjectionsCloseAt.ToOffset(TimeSpan.FromHours(8));
        var reply = new V1.PrintableNotice
        {
            Notice = ProtoMapping.ToProto(notice), ContentSha256Grouped = NoticeCanonicalForm.Grouped(notice.Sha256), VerifyUrl = verifyUrl, QrPayload = verifyUrl,
        };
        reply.Footer.Add(new LocalizedText
        {
            ZhCn = $"扫描二维码或访问上方网址，可核对本公示与平台记录是否一致（校验码 SHA-256 见上）。",
            En = "Scan the QR code or open the address above to check this printout against the record (SHA-256 shown above).",
        });
        reply.Footer.Add(new LocalizedText
        {
            ZhCn = $"如有异议，请于 {closes:yyyy年M月d日 HH:mm} 前向院委会提出。",
            En = $"Objections may be raised with the committee until {notice.Content.ObjectionsCloseAt:yyyy-MM-dd HH:mm} UTC.",
        });
        return reply;
    }

    public override async Task<V1.VerifyNoticeResponse> VerifyNotice(V1.VerifyNoticeRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var notice = Notice(courtyardId, Required(request.NoticeId, "请指明公示。", "Name the notice."));
        if (await notice.Get() is null) throw NoticeNotFound();
        var result = await notice.Verify(request.ContentSha256);
        var reply = new V1.VerifyNoticeResponse
        {
            Matches = result.Matches, ContentIntact = result.ContentIntact, RecomputedSha256 = result.Recomputed,
            Notice = ProtoMapping.ToProto(result.Notice), SupersededByNoticeId = result.Notice.SupersededBy,
            Explanation = (result.Matches, result.ContentIntact) switch
            {
                (true, _) => new LocalizedText { ZhCn = "一致：公示内容自发布以来没有改动。", En = "Matches: the notice has not changed since it was posted." },
                (false, true) => new LocalizedText { ZhCn = "不一致：输入的校验码与这则公示不符，请核对是否抄错或是否为另一则公示。", En = "Does not match: the hash given is not this notice's; check for a typo or a different notice." },
                _ => new LocalizedText { ZhCn = "警告：公示记录在发布后被改动过，与发布时的校验码不符。", En = "Warning: the stored notice was changed after posting; it no longer matches the hash fixed then." },
            },
        };
        return reply;
    }

    public override async Task<V1.Objection> RaiseObjection(V1.RaiseObjectionRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        var caller = Callers.For(context, courtyardId);
        var objection = await Notice(courtyardId, request.NoticeId).RaiseObjection(request.Text, ProtoMapping.ToDomain(request.Channel), caller, requestId);
        return ProtoMapping.ToProto(objection, request.NoticeId);
    }

    public override async Task<V1.Objection> AnswerObjection(V1.AnswerObjectionRequest request, ServerCallContext context)
    {
        var courtyardId = Courtyard(request.CourtyardId);
        var requestId = RequestId(request.RequestId);
        var caller = Callers.For(context, courtyardId);
        var objection = await Notice(courtyardId, request.NoticeId).AnswerObjection(request.ObjectionId, request.Text, caller, requestId);
        return ProtoMapping.ToProto(objection, request.NoticeId);
    }

    // ---- Plumbing ----

    private ICouncilGrain Council(string courtyardId) => grains.GetGrain<ICouncilGrain>(courtyardId);

    private IProposalGrain Proposal(string courtyardId, string proposalId) =>
        grains.GetGrain<IProposalGrain>(Ids.GrainKey(courtyardId, Required(proposalId, "请指明议题。", "Name the proposal.")));

    private IVoteGrain Vote(string courtyardId, string voteId) =>
        grains.GetGrain<IVoteGrain>(Ids.GrainKey(courtyardId, Required(voteId, "请指明表决。", "Name the vote.")));

    private INoticeGrain Notice(string courtyardId, string noticeId) =>
        grains.GetGrain<INoticeGrain>(Ids.GrainKey(courtyardId, Required(noticeId, "请指明公示。", "Name the notice.")));

    private static string Courtyard(string courtyardId) =>
        string.IsNullOrWhiteSpace(courtyardId) || courtyardId.Contains('/')
            ? throw RequestRefusedException.InvalidArgument("请指明院落（courtyard_id）。", "Name the courtyard (courtyard_id).")
            : courtyardId;

    private static string RequestId(string requestId) =>
        string.IsNullOrWhiteSpace(requestId) || requestId.Length > 200
            ? throw RequestRefusedException.InvalidArgument("请求缺少 request_id（用于防止重复提交）。", "The request needs a request_id (so a retry is not done twice).")
            : requestId;

    private static string Required(string value, string chinese, string english) =>
        string.IsNullOrWhiteSpace(value) || value.Contains('/') ? throw RequestRefusedException.InvalidArgument(chinese, english) : value;

    private static (int Offset, int Size) Page(PageRequest? page)
    {
        var size = page is null || page.PageSize <= 0 ? DefaultPageSize : Math.Min(page.PageSize, MaxPageSize);
        if (page is null || page.PageToken.Length == 0) return (0, size);
        return int.TryParse(page.PageToken, out var offset) && offset >= 0
            ? (offset, size)
            : throw RequestRefusedException.InvalidArgument("翻页标记无效。", "The page token is not valid.");
    }

    private static PageResponse NextPage(int offset, int size, int total) =>
        new() { NextPageToken = offset + size < total ? (offset + size).ToString(System.Globalization.CultureInfo.InvariantCulture) : "", TotalSize = total };

    private static V1.CouncilSettings ToProto(CouncilSettings settings) => new()
    {
        PetitionThresholdPercent = settings.PetitionThresholdPercent, NoticeDisplayDays = settings.NoticeDisplayDays, NoticeObjectionDays = settings.NoticeObjectionDays,
    };

    private static RequestRefusedException ProposalNotFound() => RequestRefusedException.NotFound("没有找到这个议题。", "No such proposal in this courtyard.");

    private static RequestRefusedException VoteNotFound() => RequestRefusedException.NotFound("没有找到这次表决。", "No such vote in this courtyard.");

    private static RequestRefusedException NoticeNotFound() => RequestRefusedException.NotFound("没有找到这则公示。", "No such notice in this courtyard.");
}
