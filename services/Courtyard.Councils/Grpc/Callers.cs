using System.Security.Claims;
using Courtyard.ServiceDefaults;
using Grpc.Core;

namespace Courtyard.Councils.Grpc;

/// <summary>
/// Who is calling, read from the authenticated user the Directory's token made: "sub" is the resident id, and each
/// role grant is a "role" claim "&lt;role&gt;:&lt;scope id&gt;" (e.g. "committee_chair:cy_1"). The one place that reads
/// claims: align it here with Authorization's token format when that lands.
/// </summary>
public static class Callers
{
    public static Caller For(ServerCallContext context, string courtyardId)
    {
        var user = context.GetHttpContext().User;
        var residentId = user.FindFirst("sub")?.Value ?? user.FindFirst(ClaimTypes.NameIdentifier)?.Value;
        if (user.Identity?.IsAuthenticated != true || string.IsNullOrEmpty(residentId))
            throw new RequestRefusedException(StatusCode.Unauthenticated, "请先登录。", "Please sign in first.");
        var roles = user.FindAll("role").Concat(user.FindAll(ClaimTypes.Role)).Select(claim => claim.Value).ToHashSet();
        var chair = roles.Contains($"committee_chair:{courtyardId}");
        return new Caller(residentId, chair || roles.Contains($"committee_member:{courtyardId}"), chair);
    }
}
