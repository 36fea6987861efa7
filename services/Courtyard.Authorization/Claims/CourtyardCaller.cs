using System.Security.Claims;
using Courtyard.Directory.V1;

namespace Courtyard.Authorization.Claims;

/// <summary>Who is calling, read from the validated token: the account, its role grants and its places on the rolls.</summary>
public sealed class CourtyardCaller
{
    private CourtyardCaller(string accountId, string name, IReadOnlyList<GrantClaim> grants, IReadOnlyList<string> residentIds)
    {
        AccountId = accountId;
        Name = name;
        Grants = grants;
        ResidentIds = residentIds;
    }

    public string AccountId { get; }
    public string Name { get; }
    public IReadOnlyList<GrantClaim> Grants { get; }
    public IReadOnlyList<string> ResidentIds { get; }

    public bool Holds(Role role, string scopeId) => Grants.Contains(new GrantClaim(role, scopeId));

    /// <summary>The caller, or null when the principal is not an authenticated Courtyard account.</summary>
    public static CourtyardCaller? From(ClaimsPrincipal? user)
    {
        if (user?.Identity?.IsAuthenticated != true || user.FindFirst(CourtyardClaimTypes.Subject)?.Value is not { Length: > 0 } account)
        {
            return null;
        }
        var grants = new List<GrantClaim>();
        foreach (var claim in user.FindAll(CourtyardClaimTypes.Grant))
        {
            // An unreadable grant (a role this build does not know yet) grants nothing.
            if (GrantClaim.TryParse(claim.Value, out var grant))
            {
                grants.Add(grant);
            }
        }
        var residents = user.FindAll(CourtyardClaimTypes.Resident).Select(c => c.Value).ToArray();
        return new CourtyardCaller(account, user.FindFirst(CourtyardClaimTypes.Name)?.Value ?? "", grants, residents);
    }
}

public static class CourtyardCallerExtensions
{
    /// <summary>The authenticated caller; throws when there is none (call only behind a declared, non-anonymous rule).</summary>
    public static CourtyardCaller GetCourtyardCaller(this ClaimsPrincipal user) =>
        CourtyardCaller.From(user) ?? throw new InvalidOperationException("No signed-in Courtyard caller: is this RPC declared anonymous?");
}
