using Courtyard.Authorization.Claims;
using Courtyard.Directory.V1;
using Grpc.Core;

namespace Courtyard.Councils.Grpc;

/// <summary>
/// Who is calling, from the access token Directory issued (Courtyard.Authorization reads it: <c>sub</c> the account,
/// <c>cy_resident</c> its resident ids, <c>cy_grant</c> its roles). Only called behind a declared, non-anonymous rule.
/// </summary>
public static class Callers
{
    public static Caller For(ServerCallContext context, string courtyardId)
    {
        var caller = context.GetHttpContext().User.GetCourtyardCaller();
        var chair = caller.Holds(Role.CommitteeChair, courtyardId);
        return new Caller(caller.AccountId, [.. caller.ResidentIds], chair || caller.Holds(Role.CommitteeMember, courtyardId), chair);
    }
}
