using Courtyard.Councils.Proposals;
using Courtyard.Councils.Voting;
using Google.Protobuf;
using ProposalEffect = Courtyard.Councils.V1.ProposalEffect;

namespace Courtyard.Councils.Demo;

/// <summary>One household of the demo roll: its owner, and the owner's account when they have one (they then vote online).</summary>
public sealed record DemoVoter(string HouseholdId, string OwnerResidentId, string? OwnerAccountId);

/// <summary>Who the demo acts as, from the Directory's demo seeding (which also fills Councils' roll through its events).</summary>
public sealed record DemoCourtyard(
    string CourtyardId,
    string ChairAccountId,
    string CommitteeMemberAccountId,
    IReadOnlyList<DemoVoter> Voters);

/// <summary>
/// Councils' part of <c>--demo</c>: one passed proposal with its result notice, and one open proposal with a vote and
/// some ballots cast — online by the owners who have an account, on paper (entered by the committee member) by the
/// rest. Every act uses a fixed request_id, so running it again finds everything already there and changes nothing.
/// </summary>
public sealed class CouncilsDemoSeeder(IGrainFactory grains, CouncilsClock clock)
{
    public async Task SeedAsync(DemoCourtyard demo)
    {
        var chair = new Caller(demo.ChairAccountId, [], IsCommitteeMember: true, IsChair: true);
        var member = new Caller(demo.CommitteeMemberAccountId, [], IsCommitteeMember: true, IsChair: false);

        // A passed proposal: bicycle sheds, voted by simple majority, closed early by the chair at the meeting.
        var sheds = await Table(demo, member, "demo:sheds", "在东门旁加装非机动车棚",
            "东门旁空地常年乱停电动车，堵塞消防通道。提议加装两排非机动车棚（约 40 个车位），并安装充电桩。费用由社区工作经费列支。",
            new BallotDesign(DecisionRuleKind.SimpleMajority, ElectorateKind.PerHousehold, false, [], 0, EarlyCloseAllowed: true));
        var shedsVote = await OpenVote(demo, sheds, member, "demo:sheds:open", TimeSpan.FromDays(7));
        await CastSome(shedsVote, member, demo.Voters.Take(demo.Voters.Count * 3 / 5).ToList(), "demo:sheds");
        if (await shedsVote.Get() is { Closed: false })
            await shedsVote.CloseEarly(chair, "demo:sheds:close", "议事会当场表决完毕");

        // An open proposal: using the maintenance funds to repair the roof of building 3 (art. 278 item 5: a majority matter).
        var roof = await Table(demo, member, "demo:roof", "使用维修资金修缮3号楼屋面防水",
            "3号楼顶层多户反映雨季渗水。经物业查勘，需对屋面防水层整体翻修，预算约 18.6 万元，拟使用专项维修资金。",
            new BallotDesign(DecisionRuleKind.CivilCode278Ordinary, ElectorateKind.PerHousehold, false, [], 0, EarlyCloseAllowed: false),
            new ProposalEffect { CivilCode278 = new ProposalEffect.Types.CivilCode278Matter { Item = 5 } });
        var roofVote = await OpenVote(demo, roof, member, "demo:roof:open", TimeSpan.FromDays(14));
        await CastSome(roofVote, member, demo.Voters.Take(demo.Voters.Count / 3).ToList(), "demo:roof");
    }

    private async Task<IProposalGrain> Table(DemoCourtyard demo, Caller member, string requestId, string title, string body, BallotDesign design, ProposalEffect? effect = null)
    {
        effect ??= new ProposalEffect { General = new() };
        var (kind, item) = effect.EffectCase == ProposalEffect.EffectOneofCase.CivilCode278 ? (ProposalKind.CivilCode278, effect.CivilCode278.Item) : (ProposalKind.General, 0);
        var proposal = grains.GetGrain<IProposalGrain>(Ids.GrainKey(demo.CourtyardId, Ids.Proposal(demo.CourtyardId, requestId)));
        await proposal.Table(new TableCommand(requestId, title, body, kind, item, effect.ToByteArray(), design, [], null, null), member);
        return proposal;
    }

    private async Task<IVoteGrain> OpenVote(DemoCourtyard demo, IProposalGrain proposal, Caller member, string requestId, TimeSpan open)
    {
        var view = (await proposal.Get())!;
        if (view.Status == ProposalStatus.Deliberation) await proposal.OpenVote(clock.Now + open, member, requestId);
        return grains.GetGrain<IVoteGrain>(Ids.GrainKey(demo.CourtyardId, Ids.VoteOf(view.Id)));
    }

    private static async Task CastSome(IVoteGrain vote, Caller member, List<DemoVoter> voters, string requestPrefix)
    {
        if (await vote.Get() is not { Closed: false }) return;
        for (var i = 0; i < voters.Count; i++)
        {
            var voter = voters[i];
            var choice = i % 7 == 3 ? Choice.Against : i % 11 == 5 ? Choice.Abstain : Choice.For;
            var (channel, caller) = voter.OwnerAccountId is { } account
                ? (ChannelRecord.Online, new Caller(account, [voter.OwnerResidentId], IsCommitteeMember: false, IsChair: false))
                : (new ChannelRecord(ChannelKind.Paper, PaperSerial: $"{requestPrefix}-{i + 1:D3}"), member);
            await vote.Cast(new CastCommand($"{requestPrefix}:{voter.HouseholdId}", voter.HouseholdId, choice, [], channel, caller));
        }
    }
}
