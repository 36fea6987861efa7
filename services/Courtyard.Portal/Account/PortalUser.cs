using System.Security.Claims;

namespace Courtyard.Portal.Account;

/// <summary>
/// What the portal knows about the signed-in person, read from the claims it wrote into its cookie at sign-in (from the
/// Directory's WhoAmI). The services decide what the person may do from the access token; the portal only uses this
/// to choose what to show.
/// </summary>
public sealed class PortalUser
{
    public const string AccountClaim = "account";
    public const string NameClaim = "name";
    public const string CourtyardClaim = "courtyard";
    public const string CourtyardNameClaim = "courtyard_name";
    /// <summary>"&lt;courtyard&gt; &lt;household&gt; &lt;resident&gt; &lt;relation&gt;" per residency.</summary>
    public const string ResidencyClaim = "residency";
    /// <summary>"&lt;role&gt;@&lt;scope id&gt;" per role grant, as in the Directory's token.</summary>
    public const string GrantClaim = "grant";

    private readonly ClaimsPrincipal principal;

    public PortalUser(ClaimsPrincipal principal) => this.principal = principal;

    public bool IsSignedIn => principal.Identity?.IsAuthenticated == true;
    public string AccountId => principal.FindFirst(AccountClaim)?.Value ?? "";
    public string DisplayName => principal.FindFirst(NameClaim)?.Value ?? "";

    /// <summary>The courtyard the portal shows: where the person lives, else where they serve on the committee.</summary>
    public string CourtyardId => principal.FindFirst(CourtyardClaim)?.Value ?? "";
    public string CourtyardName => principal.FindFirst(CourtyardNameClaim)?.Value ?? "";

    public IReadOnlyList<Residency> Residencies =>
        principal.FindAll(ResidencyClaim).Select(claim => Residency.Parse(claim.Value)).OfType<Residency>().ToList();

    /// <summary>The person's place on the roll of the shown courtyard, if they live there.</summary>
    public Residency? Residency => Residencies.FirstOrDefault(r => r.CourtyardId == CourtyardId);

    public bool Holds(string role, string scopeId) => principal.HasClaim(GrantClaim, $"{role}@{scopeId}");
    public bool IsCommittee => Holds(RoleNames.CommitteeMember, CourtyardId) || IsChair;
    public bool IsChair => Holds(RoleNames.CommitteeChair, CourtyardId);
}

/// <summary>One place on a courtyard's roll: the household and the resident the person is there.</summary>
public sealed record Residency(string CourtyardId, string HouseholdId, string ResidentId, string Relation)
{
    public override string ToString() => $"{CourtyardId} {HouseholdId} {ResidentId} {Relation}";

    public static Residency? Parse(string value) =>
        value.Split(' ') is [var courtyard, var household, var resident, var relation] ? new(courtyard, household, resident, relation) : null;

    /// <summary>Owners and co-owners vote on the owners' matters of art. 278.</summary>
    public bool IsOwner => Relation is "owner" or "co_owner";
}

/// <summary>The Directory's role names, as its tokens write them.</summary>
public static class RoleNames
{
    public const string CommitteeMember = "committee_member";
    public const string CommitteeChair = "committee_chair";
}
