using Courtyard.Councils.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using static Courtyard.Councils.Tests.Scenario;

namespace Courtyard.Councils.Tests.Voting;

/// <summary>What depends on the courtyard's time, with a clock the test moves (Orleans' own timers keep real time).</summary>
public sealed class ClockTests : IAsyncLifetime
{
    private readonly FakeTimeProvider time = new(DateTimeOffset.UtcNow);
    private CouncilsTestHost host = null!;

    public async Task InitializeAsync() => host = await CouncilsTestHost.StartAsync(time);

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task A_vote_whose_deadline_passed_while_it_was_not_active_closes_when_it_is_next_activated()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard), closesIn: TimeSpan.FromHours(1));
        await host.VoteAsync(courtyard, vote, 0, BallotChoice.For);

        time.Advance(TimeSpan.FromHours(2));
        Assert.False((await host.TallyAsync(courtyard, vote)).Final);  // its reminder is an hour away in real time
        await host.DeactivateAllGrainsAsync();

        var tally = await host.TallyAsync(courtyard, vote);
        Assert.True(tally.Final);
        Assert.Equal(VoteOutcome.Passed, tally.Outcome);
        var proposal = await host.Client.GetProposalAsync(new GetProposalRequest { CourtyardId = courtyard.Id, ProposalId = vote.ProposalId }, courtyard.Owner(0));
        Assert.Equal(ProposalStatus.Passed, proposal.Status);
        Assert.NotEmpty(proposal.NoticeId);
    }

    [Fact]
    public async Task A_ballot_after_the_deadline_is_refused_even_before_the_vote_has_closed()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 2);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard), closesIn: TimeSpan.FromHours(1));
        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        await RefusedAsync(StatusCode.FailedPrecondition, () => host.VoteAsync(courtyard, vote, 0, BallotChoice.For));
        Assert.Equal(0, (await host.TallyAsync(courtyard, vote)).Participating.Voters);
    }

    [Fact]
    public async Task Objections_are_taken_within_the_window_only_and_the_committee_answers_them()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 2);
        var notice = await host.Client.PostNoticeAsync(new PostNoticeRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, Kind = NoticeKind.FundUse,
            Title = new Common.V1.LocalizedText { ZhCn = "2026年第四季度社区经费使用公示" }, Body = new Common.V1.LocalizedText { ZhCn = "车棚工程支出 18,600.00 元。" },
            DisplayDays = 7, ObjectionDays = 3,
        }, courtyard.Member);
        Assert.Equal(notice.PostedAt.ToDateTimeOffset().AddDays(3), notice.ObjectionsCloseAt.ToDateTimeOffset());

        var objection = await host.Client.RaiseObjectionAsync(new RaiseObjectionRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, NoticeId = notice.Id, Text = "请公开发票明细。",
        }, courtyard.Owner(0));
        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.AnswerObjectionAsync(new AnswerObjectionRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, NoticeId = notice.Id, ObjectionId = objection.Id, Text = "好的",
        }, courtyard.Owner(1)).ResponseAsync);
        var answered = await host.Client.AnswerObjectionAsync(new AnswerObjectionRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, NoticeId = notice.Id, ObjectionId = objection.Id, Text = "发票扫描件已附在公示栏。",
        }, courtyard.Member);
        Assert.Equal(TestCourtyard.AccountOf(courtyard.MemberId), answered.Answer.Audit.RecordedById);
        Assert.Single((await host.EventsAsync<ObjectionRaised>()), e => e.ObjectionId == objection.Id && e.NoticeId == notice.Id);

        time.Advance(TimeSpan.FromDays(3));
        await RefusedAsync(StatusCode.FailedPrecondition, () => host.Client.RaiseObjectionAsync(new RaiseObjectionRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, NoticeId = notice.Id, Text = "太晚了",
        }, courtyard.Owner(1)).ResponseAsync);
        var read = await host.Client.GetNoticeAsync(new GetNoticeRequest { CourtyardId = courtyard.Id, NoticeId = notice.Id }, CouncilsTestHost.Anonymous);
        Assert.Equal(1, read.ObjectionCount);
        Assert.Equal("发票扫描件已附在公示栏。", read.Objections[0].Answer.Text);
    }

    [Fact]
    public async Task A_petition_below_its_threshold_expires_at_its_deadline()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 10);
        var petition = await host.Client.StartPetitionAsync(new StartPetitionRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, Title = "增设快递柜", Body = "在2号楼下增设快递柜。", Ballot = Majority(),
            CollectUntil = Timestamp.FromDateTimeOffset(time.GetUtcNow().AddDays(3)),
        }, courtyard.Owner(0));
        time.Advance(TimeSpan.FromDays(4));
        await RefusedAsync(StatusCode.FailedPrecondition, () => host.Client.CoSignPetitionAsync(new CoSignPetitionRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, PetitionId = petition.Id, HouseholdId = courtyard.Households[1].Id,
        }, courtyard.Owner(1)).ResponseAsync);
        var read = await host.Client.GetProposalAsync(new GetProposalRequest { CourtyardId = courtyard.Id, ProposalId = petition.Id }, courtyard.Owner(0));
        Assert.Equal(ProposalStatus.PetitionExpired, read.Status);
    }
}
