using Courtyard.Directory.V1;

namespace Courtyard.Councils.Grpc;

/// <summary>Who may call an RPC: any of <see cref="Roles"/> held in a scope covering the request's courtyard; or anyone.</summary>
public sealed record RpcAccess(IReadOnlyList<Role> Roles, bool Anonymous = false)
{
    /// <summary>The request field naming the courtyard the caller's role must cover.</summary>
    public const string ScopeField = "courtyard_id";
}

/// <summary>
/// The access table of courtyard.councils.v1.Councils, as data: every RPC, the roles that may call it, and the scope
/// (the request's courtyard_id; a community- or street-level grant covers the courtyards below it). Authorization
/// enforces it; a test checks that every RPC of the service is declared here. Checks that depend on a request's content
/// (a paper ballot needs a committee member, an online ballot the household's own representative or owner, an early
/// close the chair) are the grains' own.
/// </summary>
public static class CouncilsAccess
{
    private static readonly Role[] Chair = [Role.CommitteeChair];
    private static readonly Role[] Committee = [Role.CommitteeMember, Role.CommitteeChair];
    private static readonly Role[] Residents = [Role.Resident, Role.HouseholdRepresentative, Role.CommitteeMember, Role.CommitteeChair];
    private static readonly Role[] Readers =
    [
        Role.Resident, Role.HouseholdRepresentative, Role.CommitteeMember, Role.CommitteeChair, Role.Mediator, Role.Volunteer,
        Role.SocialWorker, Role.CommunityOfficial, Role.StreetOfficial,
    ];

    private static readonly RpcAccess Public = new([], Anonymous: true);

    public static IReadOnlyDictionary<string, RpcAccess> Table { get; } = new Dictionary<string, RpcAccess>
    {
        ["GetCouncil"] = new(Readers),
        ["UpdateCouncilSettings"] = new(Chair),
        ["GetProposalKinds"] = Public,

        ["TableProposal"] = new(Committee),
        ["GetProposal"] = new(Readers),
        ["ListProposals"] = new(Readers),
        ["ReviseProposal"] = new(Committee),
        ["CommentOnProposal"] = new(Residents),
        ["ListProposalComments"] = new(Readers),
        ["WithdrawProposal"] = new(Residents),
        ["StartPetition"] = new(Residents),
        ["CoSignPetition"] = new(Residents),

        ["OpenVote"] = new(Committee),
        ["GetVote"] = new(Readers),
        ["CastBallot"] = new(Residents),
        ["GetTally"] = new(Readers),
        ["WatchTally"] = new(Readers),
        ["CloseVote"] = new(Chair),
        ["ListBallots"] = new(Readers),

        // Public notices are read, printed and verified without signing in (democratic supervision).
        ["PostNotice"] = new(Committee),
        ["GetNotice"] = Public,
        ["ListNotices"] = Public,
        ["GetPrintableNotice"] = Public,
        ["VerifyNotice"] = Public,
        ["RaiseObjection"] = new(Residents),
        ["AnswerObjection"] = new(Committee),
    };
}
