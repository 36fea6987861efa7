using Courtyard.Councils.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using static Courtyard.Councils.Tests.Scenario;

namespace Courtyard.Councils.Tests.Proposals;

/// <summary>Proposals and petitions through the gRPC API: tabling, the kind table, deliberation, co-signing, events.</summary>
public sealed class ProposalTests : IAsyncLifetime
{
    private CouncilsTestHost host = null!;

    public async Task InitializeAsync() => host = await CouncilsTestHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task The_committee_tables_a_proposal_and_a_retry_returns_it_without_a_second_one()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 10);
        var request = new TableProposalRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, Title = "加装车棚", Body = "东门旁加装车棚。", Effect = new ProposalEffect { General = new() }, Ballot = Majority(),
        };
        var first = await host.Client.TableProposalAsync(request, courtyard.Member);
        var again = await host.Client.TableProposalAsync(request, courtyard.Member);

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(ProposalStatus.Deliberation, first.Status);
        var listed = await host.Client.ListProposalsAsync(new ListProposalsRequest { CourtyardId = courtyard.Id }, courtyard.Owner(0));
        Assert.Single(listed.Proposals);
        var tabled = Assert.Single((await host.EventsAsync<ProposalTabled>()), e => e.ProposalId == first.Id);
        Assert.Equal(courtyard.Id, tabled.Territory.CourtyardId);
    }

    [Fact]
    public async Task A_resident_cannot_table_a_proposal_and_nothing_is_created()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3);
        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.TableProposalAsync(new TableProposalRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, Title = "t", Body = "b", Ballot = Majority(),
        }, courtyard.Owner(0)).ResponseAsync);
        var listed = await host.Client.ListProposalsAsync(new ListProposalsRequest { CourtyardId = courtyard.Id }, courtyard.Owner(0));
        Assert.Empty(listed.Proposals);
    }

    [Fact]
    public async Task An_unsigned_caller_is_told_to_sign_in()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 1);
        await RefusedAsync(StatusCode.Unauthenticated, () => host.Client.TableProposalAsync(new TableProposalRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, Title = "t", Body = "b", Ballot = Majority(),
        }, CouncilsTestHost.Anonymous).ResponseAsync);
    }

    [Theory]
    [InlineData(5, VoteRule.CivilCode278Ordinary)]  // USING the maintenance funds: a majority matter
    [InlineData(6, VoteRule.CivilCode278Major)]     // RAISING them: 3/4
    [InlineData(7, VoteRule.CivilCode278Major)]
    [InlineData(8, VoteRule.CivilCode278Major)]
    [InlineData(1, VoteRule.CivilCode278Ordinary)]
    [InlineData(9, VoteRule.CivilCode278Ordinary)]
    public async Task An_art_278_matter_must_use_the_statutory_rule_its_item_decides(int item, VoteRule required)
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3);
        foreach (var wrong in new[] { VoteRule.SimpleMajority, VoteRule.CivilCode278Ordinary, VoteRule.CivilCode278Major }.Where(rule => rule != required))
            await RefusedAsync(StatusCode.InvalidArgument, () => host.TableAsync(courtyard, Statutory(wrong), Art278(item)));
        var tabled = await host.TableAsync(courtyard, Statutory(required), Art278(item));
        Assert.Equal(required, tabled.Ballot.Rule);

        var kinds = await host.Client.GetProposalKindsAsync(new GetProposalKindsRequest(), CouncilsTestHost.Anonymous);
        var entry = Assert.Single(kinds.Kinds, kind => kind.Kind == "civil_code_278" && kind.CivilCode278Item == item);
        Assert.Equal([required], entry.AllowedRules);
        Assert.Equal([Electorate.PerHousehold], entry.AllowedElectorates);
    }

    [Fact]
    public async Task Other_kinds_are_decided_by_simple_majority_and_only_some_allow_options()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3);
        await RefusedAsync(StatusCode.InvalidArgument, () => host.TableAsync(courtyard, Statutory(VoteRule.CivilCode278Ordinary)));
        var options = Majority();
        options.Options.Add(new VoteOption { Id = "a", Label = "甲公司" });
        options.Options.Add(new VoteOption { Id = "b", Label = "乙公司" });
        options.MaxChoices = 1;
        var amendment = new ProposalEffect
        {
            RuleAmendment = new ProposalEffect.Types.RuleAmendmentEffect
            {
                RulebookId = "rb_1", AmendmentId = "am_1",
                Changes = { new Rules.V1.ArticleChange { Add = new Rules.V1.ArticleChange.Types.AddArticle { Number = 12, Text = new Common.V1.LocalizedText { ZhCn = "晚十点后禁止广场舞音响。" } } } },
            },
        };
        await RefusedAsync(StatusCode.InvalidArgument, () => host.TableAsync(courtyard, options, amendment));
        var award = await host.TableAsync(courtyard, options, new ProposalEffect { ProjectAward = new() { CallId = "cl_1" } });
        Assert.Equal(2, award.Ballot.Options.Count);
        await RefusedAsync(StatusCode.InvalidArgument, () => host.TableAsync(courtyard, Majority(), new ProposalEffect { RuleAmendment = new() { RulebookId = "rb_1" } }));
    }

    [Fact]
    public async Task Deliberation_keeps_every_revision_and_takes_comments_until_the_vote_opens()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 4);
        var proposal = await host.TableAsync(courtyard);
        var comment = await host.Client.CommentOnProposalAsync(new CommentOnProposalRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, ProposalId = proposal.Id, Text = "建议车棚加装照明。",
        }, courtyard.Owner(1));
        var revised = await host.Client.ReviseProposalAsync(new ReviseProposalRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, ProposalId = proposal.Id, Title = "加装带照明的非机动车棚",
            Body = "东门旁加装两排车棚并安装照明。", Note = "根据居民意见增加照明",
        }, courtyard.Member);

        Assert.Equal(["加装非机动车棚", "加装带照明的非机动车棚"], revised.Revisions.Select(r => r.Title));
        Assert.Equal("加装带照明的非机动车棚", revised.Title);
        Assert.Equal(1, comment.Revision);
        Assert.Equal(1, revised.CommentCount);
        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.ReviseProposalAsync(new ReviseProposalRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, ProposalId = proposal.Id, Title = "x", Body = "y",
        }, courtyard.Owner(1)).ResponseAsync);

        await host.OpenVoteAsync(courtyard, proposal);
        await RefusedAsync(StatusCode.FailedPrecondition, () => host.Client.CommentOnProposalAsync(new CommentOnProposalRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, ProposalId = proposal.Id, Text = "晚了",
        }, courtyard.Owner(2)).ResponseAsync);
        await RefusedAsync(StatusCode.FailedPrecondition, () => host.Client.ReviseProposalAsync(new ReviseProposalRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, ProposalId = proposal.Id, Title = "x", Body = "y",
        }, courtyard.Member).ResponseAsync);
        var comments = await host.Client.ListProposalCommentsAsync(new ListProposalCommentsRequest { CourtyardId = courtyard.Id, ProposalId = proposal.Id }, courtyard.Owner(0));
        Assert.Equal(["建议车棚加装照明。"], comments.Comments.Select(c => c.Text));
    }

    [Fact]
    public async Task A_petition_is_tabled_by_itself_at_the_threshold_and_co_signing_is_idempotent_per_household()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 20);
        await host.Client.UpdateCouncilSettingsAsync(new UpdateCouncilSettingsRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id,
            Settings = new CouncilSettings { PetitionThresholdPercent = 15, NoticeDisplayDays = 7, NoticeObjectionDays = 5 },
        }, courtyard.Chair);
        var petition = await host.Client.StartPetitionAsync(new StartPetitionRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, Title = "夜间禁止货车进入", Body = "夜间货车噪音扰民。", Ballot = Majority(),
            CollectUntil = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(14)),
        }, courtyard.Owner(0));
        Assert.Equal(ProposalStatus.CollectingSignatures, petition.Status);
        Assert.Equal(3, petition.Petition.HouseholdsRequired);  // 15 % of 20 households

        CoSignPetitionRequest Sign(int household) => new() { RequestId = NewRequestId(), CourtyardId = courtyard.Id, PetitionId = petition.Id, HouseholdId = courtyard.Households[household].Id };
        await host.Client.CoSignPetitionAsync(Sign(0), courtyard.Owner(0));
        var twice = await host.Client.CoSignPetitionAsync(Sign(0), courtyard.Owner(0));
        Assert.Equal(1, twice.Petition.HouseholdsSigned);
        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.CoSignPetitionAsync(Sign(5), courtyard.Owner(1)).ResponseAsync);
        var onPaper = Sign(1);
        onPaper.Channel = new Common.V1.Channel { Paper = new Common.V1.Channel.Types.PaperEntry { PaperSerial = "LM-0001" } };
        await host.Client.CoSignPetitionAsync(onPaper, courtyard.Member);
        Assert.DoesNotContain((await host.EventsAsync<PetitionTabled>()), e => e.ProposalId == petition.Id);

        var tabled = await host.Client.CoSignPetitionAsync(Sign(2), courtyard.Owner(2));
        Assert.Equal(ProposalStatus.Deliberation, tabled.Status);
        Assert.Equal(3, tabled.Petition.HouseholdsSigned);
        Assert.Contains(tabled.Petition.Signatures, s => s.Audit.Channel.Paper?.PaperSerial == "LM-0001" && s.Audit.RecordedById == TestCourtyard.AccountOf(courtyard.MemberId));
        Assert.Single((await host.EventsAsync<PetitionTabled>()), e => e.ProposalId == petition.Id && e.HouseholdsSigned == 3);
        Assert.Single((await host.EventsAsync<ProposalTabled>()), e => e.ProposalId == petition.Id && e.PetitionId == petition.Id);
        await RefusedAsync(StatusCode.FailedPrecondition, () => host.Client.CoSignPetitionAsync(Sign(3), courtyard.Owner(3)).ResponseAsync);
    }

    [Fact]
    public async Task Malformed_requests_are_refused_in_words_and_change_nothing()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 2);
        var noRequestId = new TableProposalRequest { CourtyardId = courtyard.Id, Title = "t", Body = "b", Ballot = Majority() };
        await RefusedAsync(StatusCode.InvalidArgument, () => host.Client.TableProposalAsync(noRequestId, courtyard.Member).ResponseAsync);
        var noRule = new TableProposalRequest { RequestId = NewRequestId(), CourtyardId = courtyard.Id, Title = "t", Body = "b" };
        await RefusedAsync(StatusCode.InvalidArgument, () => host.Client.TableProposalAsync(noRule, courtyard.Member).ResponseAsync);
        var noTitle = new TableProposalRequest { RequestId = NewRequestId(), CourtyardId = courtyard.Id, Title = " ", Body = "b", Ballot = Majority() };
        await RefusedAsync(StatusCode.InvalidArgument, () => host.Client.TableProposalAsync(noTitle, courtyard.Member).ResponseAsync);
        await RefusedAsync(StatusCode.InvalidArgument, () => host.Client.ListProposalsAsync(new ListProposalsRequest
        {
            CourtyardId = courtyard.Id, Page = new Common.V1.PageRequest { PageToken = "not-a-token" },
        }, courtyard.Member).ResponseAsync);
        await RefusedAsync(StatusCode.NotFound, () => host.Client.GetProposalAsync(new GetProposalRequest { CourtyardId = courtyard.Id, ProposalId = "pp_nope" }, courtyard.Member).ResponseAsync);
        // No courtyard named: no role covers it, so authorization refuses before the handler.
        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.GetCouncilAsync(new GetCouncilRequest(), courtyard.Member).ResponseAsync);

        Assert.Empty((await host.Client.ListProposalsAsync(new ListProposalsRequest { CourtyardId = courtyard.Id }, courtyard.Member)).Proposals);
    }
}
