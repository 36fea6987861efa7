namespace Courtyard.Authorization.Claims;

/// <summary>
/// The claims of a Courtyard access token, issued by Directory and read by every service. Names stay as written in the
/// token (JwtBearer's inbound claim mapping is off).
/// </summary>
public static class CourtyardClaimTypes
{
    /// <summary>The account id (<c>ac_…</c>).</summary>
    public const string Subject = "sub";

    public const string Name = "name";

    /// <summary>One per role the caller holds: <c>&lt;role&gt;@&lt;scope id&gt;</c>, e.g. <c>committee_chair@cy_…</c>; <see cref="GrantClaim"/>.</summary>
    public const string Grant = "cy_grant";

    /// <summary>One per place the caller has on a courtyard's roll: the resident id (<c>rs_…</c>).</summary>
    public const string Resident = "cy_resident";
}
