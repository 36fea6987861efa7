using Courtyard.Authorization.Access;
using Courtyard.Councils.V1;
using Courtyard.Directory.V1;
using Service = Courtyard.Councils.V1.Councils.CouncilsBase;

namespace Courtyard.Councils.Grpc;

/// <summary>
/// Who may call each RPC of courtyard.councils.v1.Councils: anyone (public notices are read, printed and verified
/// without signing in — democratic supervision), or the listed roles held in a scope covering the request's
/// <c>courtyard_id</c> (a community or street role covers the courtyards below it). Courtyard.Authorization enforces it
/// before a handler runs. Checks that depend on a request's content (a paper ballot needs a committee member, an online
/// ballot the household's own representative or owner, an early close the chair) are the grains' own.
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

    public static RpcAccessTable Table { get; } = Declare(RpcAccessTable.For(CouncilsReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Councils"))
        .Anonymous(nameof(Service.GetProposalKinds), nameof(Service.GetNotice), nameof(Service.ListNotices),
            nameof(Service.GetPrintableNotice), nameof(Service.VerifyNotice)))
        .Build();

    private static RpcAccessTable.Builder Declare(RpcAccessTable.Builder table)
    {
        (string Method, Role[] Roles)[] scoped =
        [
            (nameof(Service.GetCouncil), Readers),
            (nameof(Service.UpdateCouncilSettings), Chair),

            (nameof(Service.TableProposal), Committee),
            (nameof(Service.GetProposal), Readers),
            (nameof(Service.ListProposals), Readers),
            (nameof(Service.ReviseProposal), Committee),
            (nameof(Service.CommentOnProposal), Residents),
            (nameof(Service.ListProposalComments), Readers),
            (nameof(Service.WithdrawProposal), Residents),
            (nameof(Service.StartPetition), Residents),
            (nameof(Service.CoSignPetition), Residents),

            (nameof(Service.OpenVote), Committee),
            (nameof(Service.GetVote), Readers),
            (nameof(Service.CastBallot), Residents),
            (nameof(Service.GetTally), Readers),
            (nameof(Service.WatchTally), Readers),
            (nameof(Service.CloseVote), Chair),
            (nameof(Service.ListBallots), Readers),

            (nameof(Service.PostNotice), Committee),
            (nameof(Service.RaiseObjection), Residents),
            (nameof(Service.AnswerObjection), Committee),
        ];
        foreach (var (method, roles) in scoped)
        {
            table.Scoped(method, roles, "courtyard_id", ScopeResolvers.Courtyard);
        }
        return table;
    }
}
