using System.Security.Cryptography;
using System.Text;
using NoticeState = Courtyard.Councils.Notices.NoticeState;
using Courtyard.Councils.V1;
using Courtyard.Testing;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using static Courtyard.Councils.Tests.Scenario;

namespace Courtyard.Councils.Tests.Notices;

/// <summary>Public notices: posted when a vote closes, read and verified without signing in, tampering detected.</summary>
public sealed class NoticeTests : IAsyncLifetime
{
    private CouncilsTestHost host = null!;

    public async Task InitializeAsync() => host = await CouncilsTestHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    private async Task<(TestCourtyard Courtyard, PublicNotice Notice)> ClosedVoteWithNoticeAsync()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 4);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard, title: "更换单元门禁"));
        await host.VoteAsync(courtyard, vote, 0, BallotChoice.For);
        await host.VoteAsync(courtyard, vote, 1, BallotChoice.For);
        await host.VoteAsync(courtyard, vote, 2, BallotChoice.Against);
        await host.CloseAsync(courtyard, vote);
        var proposal = await host.Client.GetProposalAsync(new GetProposalRequest { CourtyardId = courtyard.Id, ProposalId = vote.ProposalId }, courtyard.Owner(0));
        await Eventually.HoldsAsync(async () => (await host.Client.ListNoticesAsync(new ListNoticesRequest { CourtyardId = courtyard.Id }, CouncilsTestHost.Anonymous)).Notices.Count == 1,
            TimeSpan.FromSeconds(10), "the result notice was posted");
        var notice = await host.Client.GetNoticeAsync(new GetNoticeRequest { CourtyardId = courtyard.Id, NoticeId = proposal.NoticeId }, CouncilsTestHost.Anonymous);
        return (courtyard, notice);
    }

    [Fact]
    public async Task A_closed_vote_posts_its_result_for_seven_days_readable_without_signing_in()
    {
        var (courtyard, notice) = await ClosedVoteWithNoticeAsync();
        Assert.Equal(NoticeKind.VoteResult, notice.Kind);
        Assert.Equal("表决结果公示：更换单元门禁", notice.Title.ZhCn);
        Assert.Contains("通过：同意 2 户、反对 1 户、弃权 0 户（共 3/4 户投票）", notice.Body.ZhCn);
        Assert.Equal(TimeSpan.FromDays(7), notice.DisplayUntil.ToDateTimeOffset() - notice.PostedAt.ToDateTimeOffset());
        Assert.Single((await host.EventsAsync<NoticePosted>()), e => e.NoticeId == notice.Id && e.ContentSha256 == notice.ContentSha256);
        Assert.Equal(courtyard.Id, notice.Territory.CourtyardId);
    }

    [Fact]
    public async Task The_hash_is_sha256_over_the_documented_canonical_form()
    {
        var (courtyard, notice) = await ClosedVoteWithNoticeAsync();
        string Line(string name, string value) => $"{name}:{Encoding.UTF8.GetByteCount(value)}:{value}\n";
        string Time(Google.Protobuf.WellKnownTypes.Timestamp t) => t.ToDateTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
        var canonical = Line("version", "courtyard.notice.v1") + Line("id", notice.Id) + Line("courtyard_id", courtyard.Id)
            + Line("kind", "NOTICE_KIND_VOTE_RESULT") + Line("subject.kind", "ENTITY_KIND_VOTE") + Line("subject.id", notice.Subject.Id)
            + Line("subject.service", "councils") + Line("title.zh_cn", notice.Title.ZhCn) + Line("title.en", notice.Title.En)
            + Line("body.zh_cn", notice.Body.ZhCn) + Line("body.en", notice.Body.En) + Line("posted_at", Time(notice.PostedAt))
            + Line("objections_close_at", Time(notice.ObjectionsCloseAt)) + Line("display_until", Time(notice.DisplayUntil))
            + Line("supersedes_notice_id", "");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))), notice.ContentSha256);
    }

    [Fact]
    public async Task A_printed_hash_verifies_and_a_wrong_one_does_not()
    {
        var (courtyard, notice) = await ClosedVoteWithNoticeAsync();
        var printable = await host.Client.GetPrintableNoticeAsync(new GetPrintableNoticeRequest { CourtyardId = courtyard.Id, NoticeId = notice.Id }, CouncilsTestHost.Anonymous);
        Assert.Equal(notice.ContentSha256, printable.ContentSha256Grouped.Replace(" ", ""));
        Assert.Contains($"/{courtyard.Id}/{notice.Id}?h={notice.ContentSha256[..16]}", printable.QrPayload);
        Assert.Contains(printable.Footer, line => line.ZhCn.StartsWith("如有异议", StringComparison.Ordinal));

        var typedOffPaper = printable.ContentSha256Grouped[..35].ToUpperInvariant();  // first 4 groups, as a person types them
        var verified = await host.Client.VerifyNoticeAsync(new VerifyNoticeRequest { CourtyardId = courtyard.Id, NoticeId = notice.Id, ContentSha256 = typedOffPaper }, CouncilsTestHost.Anonymous);
        Assert.True(verified.Matches);
        var wrong = "0000000000000000" + notice.ContentSha256[16..];
        var mismatch = await host.Client.VerifyNoticeAsync(new VerifyNoticeRequest { CourtyardId = courtyard.Id, NoticeId = notice.Id, ContentSha256 = wrong }, CouncilsTestHost.Anonymous);
        Assert.False(mismatch.Matches);
        Assert.True(mismatch.ContentIntact);
        await RefusedAsync(StatusCode.InvalidArgument, () => host.Client.VerifyNoticeAsync(new VerifyNoticeRequest
        {
            CourtyardId = courtyard.Id, NoticeId = notice.Id, ContentSha256 = "abc",
        }, CouncilsTestHost.Anonymous).ResponseAsync);
    }

    [Fact]
    public async Task A_change_made_to_the_stored_notice_after_posting_is_detected()
    {
        var (courtyard, notice) = await ClosedVoteWithNoticeAsync();
        // Someone with access to the database edits the notice's body behind the service's back.
        var storage = host.Services.GetRequiredKeyedService<IGrainStorage>(CouncilsNames.Storage);
        var grainId = GrainId.Create("councils.notice", Ids.GrainKey(courtyard.Id, notice.Id));
        var stored = new GrainState<NoticeState>(new NoticeState());
        await storage.ReadStateAsync("notice", grainId, stored);
        var content = stored.State!.Content!;
        stored.State!.Content = content with { BodyZh = content.BodyZh.Replace("反对 1 户", "反对 0 户") };
        await storage.WriteStateAsync("notice", grainId, stored);
        await host.DeactivateAllGrainsAsync();

        var verified = await host.Client.VerifyNoticeAsync(new VerifyNoticeRequest
        {
            CourtyardId = courtyard.Id, NoticeId = notice.Id, ContentSha256 = notice.ContentSha256,
        }, CouncilsTestHost.Anonymous);
        Assert.False(verified.Matches);
        Assert.False(verified.ContentIntact);
        Assert.StartsWith("警告", verified.Explanation.ZhCn);
        Assert.NotEqual(notice.ContentSha256, verified.RecomputedSha256);
    }

    [Fact]
    public async Task Only_the_committee_posts_notices_and_a_correction_supersedes_the_original()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 2);
        PostNoticeRequest Post(string body, string supersedes = "") => new()
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, Kind = NoticeKind.General, SupersedesNoticeId = supersedes,
            Title = new Common.V1.LocalizedText { ZhCn = "停水通知" }, Body = new Common.V1.LocalizedText { ZhCn = body },
        };
        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.PostNoticeAsync(Post("周三停水"), courtyard.Owner(0)).ResponseAsync);
        var original = await host.Client.PostNoticeAsync(Post("周三停水"), courtyard.Member);
        var correction = await host.Client.PostNoticeAsync(Post("周四停水（更正）", original.Id), courtyard.Member);
        var verified = await host.Client.VerifyNoticeAsync(new VerifyNoticeRequest { CourtyardId = courtyard.Id, NoticeId = original.Id }, CouncilsTestHost.Anonymous);
        Assert.Equal(correction.Id, verified.SupersededByNoticeId);
        Assert.True(verified.ContentIntact);
    }
}
