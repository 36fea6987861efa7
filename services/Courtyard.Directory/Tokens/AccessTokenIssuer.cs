using Courtyard.Authorization.Claims;
using Courtyard.Authorization.Tokens;
using Courtyard.Directory.Accounts;
using Courtyard.Directory.Roll;
using Courtyard.Directory.Territory;
using Courtyard.Directory.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace Courtyard.Directory.Tokens;

/// <summary>
/// Turns a signed-in account into tokens: reads its current grants (from each scope it may hold one in) and its places
/// on the rolls (resident, and household representative where it is one), and signs an access token with the ring's
/// current key. Roles are read afresh at every sign-in and refresh, so a revoked role ends within one token lifetime.
/// </summary>
public sealed class AccessTokenIssuer(IGrainFactory grains, SigningKeyRing keys, TokenOptions tokenOptions, IOptions<DirectoryOptions> options, [FromKeyedServices(DirectoryOptions.ServiceName)] TimeProvider time)
{
    public async Task<TokenResponse> IssueAsync(SignedIn signedIn)
    {
        var content = await ContentOfAsync(signedIn.Profile);
        var now = time.GetUtcNow();
        var lifetime = options.Value.Tokens.AccessTokenLifetime;
        return new TokenResponse
        {
            AccessToken = content.Write(tokenOptions, keys.Current, now, lifetime),
            AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(now + lifetime),
            RefreshToken = signedIn.RefreshToken.Value,
            RefreshTokenExpiresAt = Timestamp.FromDateTimeOffset(signedIn.RefreshToken.ExpiresAt),
        };
    }

    public async Task<AccessTokenContent> ContentOfAsync(AccountProfile profile)
    {
        var grants = new List<GrantClaim>();
        foreach (string scope in profile.GrantScopes)
        {
            foreach (var grant in await grains.GetGrain<ITerritoryNodeGrain>(scope).ActiveGrantsOfAsync(profile.AccountId))
            {
                grants.Add(new GrantClaim(grant.Role, scope == TerritoryNodeGrain.Root ? GrantClaim.Everywhere : scope));
            }
        }
        var residents = new List<string>();
        foreach (string courtyard in profile.ResidentIds.Select(DirectoryIds.CourtyardOfRollId).OfType<string>().Distinct())
        {
            foreach (var membership in await grains.GetGrain<ICourtyardRollGrain>(courtyard).MembershipOfAsync(profile.AccountId))
            {
                residents.Add(membership.ResidentId);
                grants.Add(new GrantClaim(Role.Resident, courtyard));
                if (membership.IsRepresentative)
                {
                    grants.Add(new GrantClaim(Role.HouseholdRepresentative, courtyard));
                }
            }
        }
        return new AccessTokenContent
        {
            AccountId = profile.AccountId,
            Name = profile.DisplayName,
            Grants = grants.Distinct().ToArray(),
            ResidentIds = residents,
        };
    }
}
