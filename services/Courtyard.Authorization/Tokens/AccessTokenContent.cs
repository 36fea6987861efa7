using Courtyard.Authorization.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Courtyard.Authorization.Tokens;

/// <summary>
/// What an access token says about its holder. Directory issues it at sign-in and refresh; tests mint it to play a
/// role (tests/Courtyard.Testing.Authorization). One place for the token's layout: <see cref="Write"/>.
/// </summary>
public sealed record AccessTokenContent
{
    public required string AccountId { get; init; }
    public string Name { get; init; } = "";
    public IReadOnlyList<GrantClaim> Grants { get; init; } = [];
    public IReadOnlyList<string> ResidentIds { get; init; } = [];

    /// <summary>A signed JWT (ES256 with an ECDSA P-256 key) valid from <paramref name="now"/> for <paramref name="lifetime"/>.</summary>
    public string Write(TokenOptions options, SigningCredentials credentials, DateTimeOffset now, TimeSpan lifetime)
    {
        var claims = new Dictionary<string, object>
        {
            [CourtyardClaimTypes.Subject] = AccountId,
            [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
        };
        if (Name.Length > 0)
        {
            claims[CourtyardClaimTypes.Name] = Name;
        }
        if (Grants.Count > 0)
        {
            claims[CourtyardClaimTypes.Grant] = Grants.Select(g => g.ToString()).Distinct(StringComparer.Ordinal).ToArray();
        }
        if (ResidentIds.Count > 0)
        {
            claims[CourtyardClaimTypes.Resident] = ResidentIds.Distinct(StringComparer.Ordinal).ToArray();
        }
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = options.Issuer,
            Audience = options.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime).UtcDateTime,
            Claims = claims,
            SigningCredentials = credentials,
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}
