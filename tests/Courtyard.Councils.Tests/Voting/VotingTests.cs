using Courtyard.Common.V1;
using Courtyard.Councils.V1;
using Courtyard.Directory.V1;
using Courtyard.Testing;
using Grpc.Core;
using static Courtyard.Councils.Tests.Scenario;

namespace Courtyard.Councils.Tests.Voting;

/// <summary>Votes through the gRPC API: eligibility, ballots and receipts, paper and proxy, closing, results.</summary>
public sealed class VotingTests : IAsyncLifetime
{
    private CouncilsTestHost host = null!;

    public async Task InitializeAsync() => host = await CouncilsTestHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task The_last_ballot_counts_and_every_ballot_gets_a_receipt()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 5);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard));

        var first = await host.VoteAsync(courtyard, vote, 0, BallotChoice.Against);
        var changed = await host.VoteAsync(courtyard, vote, 0, BallotChoice.For);
        await host.VoteAsync(courtyard, vote, 1, BallotChoice.Abstain);

        Assert.Equal((1, 2), (first.Revision, changed.Revision));
        Assert.NotEqual(first.BallotId, changed.BallotId);
        var tally = await host.TallyAsync(courtyard, vote);
        Assert.Equal((1, 0, 1, 2), (tally.InFavour.Voters, tally.Against.Voters, tally.Abstaining.Voters, tally.Participating.Voters));
        Assert.Equal(3, tally.Sequence);
        var audit = await host.Client.ListBallotsAsync(new ListBallotsRequest { CourtyardId = courtyard.Id, VoteId = vote.Id, IncludeSuperseded = true }, courtyard.Member);
        Assert.Equal([true, false, false], audit.Ballots.Select(b => b.Superseded));
    }

    /// <summary>
    /// A receipt is given only once the ballot's journal entry is committed: right after each receipt, the ballot is in
    /// the database's journal rows, read with SQL, not through any grain.
    /// </summary>
    [Fact]
    public async Task A_ballot_is_acknowledged_only_once_its_journal_entry_is_stored()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 30);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard));
        await using var database = await host.Host.OpenDatabaseAsync(CouncilsNames.Storage);
        await using var count = database.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM journal_events WHERE stream = @stream";
        var stream = count.CreateParameter();
        stream.ParameterName = "stream";
        stream.Value = $"councils.vote/{courtyard.Id}/{vote.Id}";
        count.Parameters.Add(stream);

        for (var household = 0; household < 30; household++)
        {
            await host.VoteAsync(courtyard, vote, household, BallotChoice.For);
            // The vote's opening, then one entry per acknowledged ballot.
            Assert.Equal(household + 2, Convert.ToInt32(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task A_retried_ballot_returns_the_same_receipt_and_changes_nothing_also_after_the_grain_restarts()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard));
        var requestId = NewRequestId();
        var receipt = await host.VoteAsync(courtyard, vote, 0, BallotChoice.For, requestId);
        var retried = await host.VoteAsync(courtyard, vote, 0, BallotChoice.Against, requestId);
        Assert.Equal(receipt, retried);

        await host.DeactivateAllGrainsAsync();
        var afterRestart = await host.VoteAsync(courtyard, vote, 0, BallotChoice.Against, requestId);
        Assert.Equal(receipt, afterRestart);
        var tally = await host.TallyAsync(courtyard, vote);
        Assert.Equal((1, 0, 1L), (tally.InFavour.Voters, tally.Against.Voters, tally.Sequence));
    }

    [Fact]
    public async Task The_electorate_is_frozen_when_the_vote_opens()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard));
        Assert.Equal(3, vote.EligibleVoters);

        await host.DeliverFromDirectoryAsync(courtyard.Id, new HouseholdChanged { HouseholdId = "hh_late", Ref = courtyard.Territory, ExclusiveAreaDm2 = 9000 });
        await host.DeliverFromDirectoryAsync(courtyard.Id, new ResidentJoined { ResidentId = "rs_late", HouseholdId = "hh_late", Ref = courtyard.Territory, Relation = HouseholdRelation.Owner });

        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.CastBallotAsync(new CastBallotRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = "hh_late", Choice = BallotChoice.For,
        }, courtyard.Resident("rs_late")).ResponseAsync);
        Assert.Equal(3, (await host.TallyAsync(courtyard, vote)).Eligible.Voters);
    }

    [Fact]
    public async Task Only_the_household_itself_votes_online_and_tenants_do_not_vote_on_owners_matters()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 4, tenanted: 1);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard, Statutory(VoteRule.CivilCode278Ordinary), Art278(4)));
        Assert.Equal(4, vote.EligibleVoters);  // the let household counts in the totals: its owner votes on paper

        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.CastBallotAsync(new CastBallotRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = courtyard.Households[1].Id, Choice = BallotChoice.For,
        }, courtyard.Owner(0)).ResponseAsync);
        var tenant = courtyard.Households[3];
        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.CastBallotAsync(new CastBallotRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = tenant.Id, Choice = BallotChoice.For,
        }, courtyard.Resident(tenant.TenantId!)).ResponseAsync);
        Assert.Equal(0, (await host.TallyAsync(courtyard, vote)).Participating.Voters);
    }

    [Fact]
    public async Task Paper_and_proxy_ballots_are_entered_by_the_committee_and_marked_in_their_provenance()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 4, tenanted: 1);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard, Statutory(VoteRule.CivilCode278Ordinary), Art278(5)));
        CastBallotRequest For(int household, Channel channel) => new()
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = courtyard.Households[household].Id, Choice = BallotChoice.For, Channel = channel,
        };
        var paper = new Channel { Paper = new Channel.Types.PaperEntry { PaperSerial = "BJ-2026-017" } };
        var proxy = new Channel
        {
            Proxy = new Channel.Types.ProxyEntry { ProxyId = "rs_daughter", WitnessId = courtyard.Households[2].OwnerId!, AuthorizationRef = "委托书-017", Reason = "行动不便，委托女儿代投" },
        };

        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.CastBallotAsync(For(3, paper), courtyard.Owner(0)).ResponseAsync);
        await RefusedAsync(StatusCode.InvalidArgument, () => host.Client.CastBallotAsync(For(1, new Channel { Proxy = new Channel.Types.ProxyEntry { ProxyId = "rs_x" } }), courtyard.Member).ResponseAsync);
        var onPaper = await host.Client.CastBallotAsync(For(3, paper), courtyard.Member);
        var byProxy = await host.Client.CastBallotAsync(For(1, proxy), courtyard.Member);

        Assert.Equal(("BJ-2026-017", TestCourtyard.AccountOf(courtyard.MemberId)), (onPaper.Audit.Channel.Paper.PaperSerial, onPaper.Audit.Channel.Paper.EnteredById));
        Assert.Equal((courtyard.Households[1].Id, TestCourtyard.AccountOf(courtyard.MemberId)), (byProxy.Audit.ActorId, byProxy.Audit.RecordedById));
        Assert.Equal(("rs_daughter", "行动不便，委托女儿代投"), (byProxy.Audit.Channel.Proxy.ProxyId, byProxy.Audit.Channel.Proxy.Reason));
        var tally = await host.TallyAsync(courtyard, vote);
        Assert.Equal((1, 1), (tally.PaperBallots, tally.ProxyBallots));
        var cast = (await host.EventsAsync<BallotCast>()).Where(e => e.VoteId == vote.Id).ToList();
        // Each ballot's BallotCast was committed with its journal entry: its provenance, never its choice.
        Assert.Equal(new[] { byProxy.BallotId, onPaper.BallotId }.Order(), cast.Select(e => e.BallotId).Order());
        Assert.Equal("BJ-2026-017", Assert.Single(cast, e => e.BallotId == onPaper.BallotId).Audit.Channel.Paper.PaperSerial);
        Assert.Equal("rs_daughter", Assert.Single(cast, e => e.BallotId == byProxy.BallotId).Audit.Channel.Proxy.ProxyId);
    }

    [Fact]
    public async Task The_residents_own_online_ballot_overrides_a_proxy_ballot_and_not_the_other_way_round()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard));
        var proxy = new Channel { Proxy = new Channel.Types.ProxyEntry { ProxyId = "rs_son", WitnessId = courtyard.Households[2].OwnerId!, Reason = "住院" } };
        CastBallotRequest ByProxy(BallotChoice choice) => new()
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = courtyard.Households[0].Id, Choice = choice, Channel = proxy,
        };
        await host.Client.CastBallotAsync(ByProxy(BallotChoice.Against), courtyard.Member);
        var own = await host.VoteAsync(courtyard, vote, 0, BallotChoice.For);
        Assert.Equal(2, own.Revision);
        var tally = await host.TallyAsync(courtyard, vote);
        Assert.Equal((1, 0, 0), (tally.InFavour.Voters, tally.Against.Voters, tally.ProxyBallots));

        await RefusedAsync(StatusCode.FailedPrecondition, () => host.Client.CastBallotAsync(ByProxy(BallotChoice.Against), courtyard.Member).ResponseAsync);
        Assert.Equal(1, (await host.TallyAsync(courtyard, vote)).InFavour.Voters);
    }

    [Fact]
    public async Task A_secret_vote_never_shows_a_choice_in_the_audit()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard, Majority(secret: true)));
        await host.VoteAsync(courtyard, vote, 0, BallotChoice.Against);
        var audit = await host.Client.ListBallotsAsync(new ListBallotsRequest { CourtyardId = courtyard.Id, VoteId = vote.Id }, courtyard.Chair);
        var ballot = Assert.Single(audit.Ballots);
        Assert.Equal(BallotChoice.Unspecified, ballot.Choice);
        Assert.Equal(courtyard.Households[0].Id, ballot.VoterId);
        Assert.Equal(1, (await host.TallyAsync(courtyard, vote)).Against.Voters);
    }

    [Fact]
    public async Task A_choice_among_options_is_counted_per_option()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 5);
        var design = Majority();
        design.Options.Add(new VoteOption { Id = "a", Label = "甲物业" });
        design.Options.Add(new VoteOption { Id = "b", Label = "乙物业" });
        design.Options.Add(new VoteOption { Id = "c", Label = "丙物业" });
        design.MaxChoices = 2;
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard, design, new ProposalEffect { ProjectAward = new() { CallId = "cl_9" } }));
        Task<BallotReceipt> Choose(int household, params string[] options)
        {
            var request = new CastBallotRequest { RequestId = NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = courtyard.Households[household].Id };
            request.OptionIds.AddRange(options);
            return host.Client.CastBallotAsync(request, courtyard.Owner(household)).ResponseAsync;
        }
        await Choose(0, "a", "b");
        await Choose(1, "b");
        await Choose(2, "c");
        await RefusedAsync(StatusCode.InvalidArgument, () => Choose(3, "a", "b", "c"));
        await RefusedAsync(StatusCode.InvalidArgument, () => Choose(3, "z"));
        await RefusedAsync(StatusCode.InvalidArgument, () => host.VoteAsync(courtyard, vote, 3, BallotChoice.For));

        var tally = await host.CloseAsync(courtyard, vote);
        Assert.Equal([1, 2, 1], tally.Options.Select(o => o.Count.Voters));
        Assert.Equal(("b", VoteOutcome.Passed), (tally.WinningOptionId, tally.Outcome));
        Assert.Contains("乙物业得票最多", tally.Explanation.ZhCn);
    }

    [Fact]
    public async Task Only_the_chair_closes_early_and_only_where_the_proposal_allows_it()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3);
        var fixedTerm = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard, Majority(earlyClose: false)));
        await RefusedAsync(StatusCode.FailedPrecondition, () => host.CloseAsync(courtyard, fixedTerm));

        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard));
        await host.VoteAsync(courtyard, vote, 0, BallotChoice.For);
        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.CloseVoteAsync(new CloseVoteRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id,
        }, courtyard.Member).ResponseAsync);

        var final = await host.CloseAsync(courtyard, vote);
        Assert.True(final.Final);
        Assert.Equal(VoteOutcome.Passed, final.Outcome);
        await RefusedAsync(StatusCode.FailedPrecondition, () => host.VoteAsync(courtyard, vote, 1, BallotChoice.Against));
        var proposal = await host.Client.GetProposalAsync(new GetProposalRequest { CourtyardId = courtyard.Id, ProposalId = vote.ProposalId }, courtyard.Owner(0));
        Assert.Equal(ProposalStatus.Passed, proposal.Status);
        Assert.Single((await host.EventsAsync<VoteClosed>()), e => e.VoteId == vote.Id && e.ClosedEarly);
    }

    [Fact]
    public async Task A_vote_closes_by_itself_at_its_deadline_and_the_proposal_passes_with_its_payload()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3);
        var amendment = new ProposalEffect
        {
            RuleAmendment = new ProposalEffect.Types.RuleAmendmentEffect
            {
                RulebookId = "rb_1", AmendmentId = "am_7",
                Changes = { new Rules.V1.ArticleChange { Add = new Rules.V1.ArticleChange.Types.AddArticle { Number = 12, Text = new LocalizedText { ZhCn = "晚十点后停止使用音响。" } } } },
            },
        };
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard, Majority(earlyClose: false), amendment), closesIn: TimeSpan.FromSeconds(3));
        await host.VoteAsync(courtyard, vote, 0, BallotChoice.For);
        await host.VoteAsync(courtyard, vote, 1, BallotChoice.For);

        await Eventually.HoldsAsync(async () => (await host.TallyAsync(courtyard, vote)).Final, TimeSpan.FromSeconds(30), "the vote closed at its deadline");
        await Eventually.HoldsAsync(async () => (await host.EventsAsync<ProposalPassed>()).Any(e => e.VoteId == vote.Id), TimeSpan.FromSeconds(10), "ProposalPassed was raised");
        var passed = (await host.EventsAsync<ProposalPassed>()).Single(e => e.VoteId == vote.Id);
        Assert.Equal("am_7", passed.Effect.RuleAmendment.AmendmentId);
        Assert.Equal("晚十点后停止使用音响。", passed.Effect.RuleAmendment.Changes[0].Add.Text.ZhCn);
        Assert.Equal(2, passed.FinalTally.InFavour.Voters);
        Assert.StartsWith("通过：同意 2 户", passed.FinalTally.Explanation.ZhCn);
    }

    [Fact]
    public async Task An_art_278_vote_below_participation_is_rejected_and_explained()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 6, areaDm2: _ => 10000);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard, Statutory(VoteRule.CivilCode278Major), Art278(6)));
        for (var i = 0; i < 3; i++) await host.VoteAsync(courtyard, vote, i, BallotChoice.For);
        var tally = await host.CloseAsync(courtyard, vote);
        Assert.Equal(VoteOutcome.ParticipationNotMet, tally.Outcome);
        Assert.Equal("未通过：参与表决面积占 50.0%、人数 3/6 户，未达到面积和人数均三分之二以上（含）的参与要求", tally.Explanation.ZhCn);
        Assert.Single((await host.EventsAsync<ProposalRejected>()), e => e.VoteId == vote.Id);
    }

    [Fact]
    public async Task A_membership_event_delivered_again_late_changes_nothing()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 2);
        var joined = new ResidentJoined { ResidentId = "rs_lodger", HouseholdId = courtyard.Households[0].Id, Ref = courtyard.Territory, Relation = HouseholdRelation.FamilyMember };
        await host.DeliverFromDirectoryAsync(courtyard.Id, joined, "directory-1001");
        await host.DeliverFromDirectoryAsync(courtyard.Id, new ResidentLeft { ResidentId = "rs_lodger", HouseholdId = courtyard.Households[0].Id, Ref = courtyard.Territory }, "directory-1002");

        // The broker redelivers the old "joined" after the "moved out": the roll has handled it, so it must not bring the resident back.
        await host.DeliverFromDirectoryAsync(courtyard.Id, joined, "directory-1001");
        var council = await host.Client.GetCouncilAsync(new GetCouncilRequest { CourtyardId = courtyard.Id }, courtyard.Owner(0));
        Assert.Equal(2, council.ResidentsOnRoll);
    }

    [Fact]
    public async Task A_per_resident_vote_gives_every_resident_on_the_roll_their_own_ballot_tenants_included()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 3, tenanted: 1);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard, Majority(Electorate.PerResident)));
        Assert.Equal(3, vote.EligibleVoters);
        var tenant = courtyard.Households[2].TenantId!;
        await host.Client.CastBallotAsync(new CastBallotRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = tenant, Choice = BallotChoice.For,
        }, courtyard.Resident(tenant));
        await RefusedAsync(StatusCode.PermissionDenied, () => host.Client.CastBallotAsync(new CastBallotRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = courtyard.Households[0].OwnerId!, Choice = BallotChoice.For,
        }, courtyard.Resident(tenant)).ResponseAsync);
        var tally = await host.TallyAsync(courtyard, vote);
        Assert.Equal((1, 3), (tally.InFavour.Voters, tally.Eligible.Voters));
        Assert.StartsWith("统计中，如现在截止将通过：同意 1 人", tally.Explanation.ZhCn);
    }
}
