using Courtyard.Councils.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Courtyard.Councils.Tests;

/// <summary>Short ways to say what the scenarios do through the gRPC API.</summary>
public static class Scenario
{
    public static string NewRequestId() => Guid.NewGuid().ToString("N");

    public static BallotDesign Majority(Electorate electorate = Electorate.PerHousehold, bool earlyClose = true, bool secret = false) =>
        new() { Rule = VoteRule.SimpleMajority, Electorate = electorate, EarlyCloseAllowed = earlyClose, Secret = secret };

    public static BallotDesign Statutory(VoteRule rule, bool earlyClose = true) =>
        new() { Rule = rule, Electorate = Electorate.PerHousehold, EarlyCloseAllowed = earlyClose };

    public static ProposalEffect Art278(int item) => new() { CivilCode278 = new ProposalEffect.Types.CivilCode278Matter { Item = item } };

    public static async Task<Proposal> TableAsync(this CouncilsTestHost host, TestCourtyard courtyard, BallotDesign? design = null, ProposalEffect? effect = null, string title = "加装非机动车棚")
    {
        return await host.Client.TableProposalAsync(new TableProposalRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, Title = title, Body = "东门旁加装两排车棚，约 40 个车位。",
            Effect = effect ?? new ProposalEffect { General = new() }, Ballot = design ?? Majority(),
        }, courtyard.Member);
    }

    public static async Task<Vote> OpenVoteAsync(this CouncilsTestHost host, TestCourtyard courtyard, Proposal proposal, TimeSpan? closesIn = null)
    {
        return await host.Client.OpenVoteAsync(new OpenVoteRequest
        {
            RequestId = NewRequestId(), CourtyardId = courtyard.Id, ProposalId = proposal.Id,
            ClosesAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow + (closesIn ?? TimeSpan.FromHours(1))),
        }, courtyard.Member);
    }

    public static Task<BallotReceipt> VoteAsync(this CouncilsTestHost host, TestCourtyard courtyard, Vote vote, int household, BallotChoice choice, string? requestId = null) =>
        host.Client.CastBallotAsync(new CastBallotRequest
        {
            RequestId = requestId ?? NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = courtyard.Households[household].Id, Choice = choice,
        }, courtyard.Owner(household)).ResponseAsync;

    public static Task<Tally> TallyAsync(this CouncilsTestHost host, TestCourtyard courtyard, Vote vote) =>
        host.Client.GetTallyAsync(new GetTallyRequest { CourtyardId = courtyard.Id, VoteId = vote.Id }, CouncilsTestHost.Anonymous.WithHeaders(courtyard.Member.Headers!)).ResponseAsync;

    public static Task<Tally> CloseAsync(this CouncilsTestHost host, TestCourtyard courtyard, Vote vote) =>
        host.Client.CloseVoteAsync(new CloseVoteRequest { RequestId = NewRequestId(), CourtyardId = courtyard.Id, VoteId = vote.Id, Reason = "会议表决完毕" }, courtyard.Chair).ResponseAsync;

    /// <summary>Asserts the call is refused with <paramref name="code"/> and a message that starts in Chinese.</summary>
    public static async Task<RpcException> RefusedAsync(StatusCode code, Func<Task> call)
    {
        var refused = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, refused.StatusCode);
        Assert.Matches(@"^[「《]?\p{IsCJKUnifiedIdeographs}", refused.Status.Detail);
        return refused;
    }
}
