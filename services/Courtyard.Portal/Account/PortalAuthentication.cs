using System.Security.Claims;
using Courtyard.Directory.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using DirectoryClient = Courtyard.Directory.V1.Directory.DirectoryClient;

namespace Courtyard.Portal.Account;

/// <summary>
/// Sign-in for people: ASP.NET Core cookie authentication. The cookie is HTTP-only and encrypted with data protection;
/// it holds the Directory's access and refresh tokens (as authentication-ticket tokens) and a few claims from WhoAmI.
/// Shortly before the access token expires the cookie's validation refreshes it (<see cref="TokenRefresher"/>) and
/// re-issues the cookie with the new pair.
/// </summary>
public static class PortalAuthentication
{
    public const string Scheme = "courtyard-portal";
    public const string CookieName = "courtyard.portal";
    public const string AccessTokenName = "access_token";
    public const string RefreshTokenName = "refresh_token";
    public const string AccessTokenExpiresName = "access_token_expires_at";
    /// <summary>Policy of every page for signed-in people: this scheme, whatever the host's default is.</summary>
    public const string SignedInPolicy = "courtyard-signed-in";
    /// <summary>Policy of the committee's pages: a committee role in the courtyard shown.</summary>
    public const string CommitteePolicy = "courtyard-committee";

    public const string SignInPath = "/account/sign-in";

    public static void AddPortalAuthentication(this WebApplicationBuilder builder)
    {
        // The host's default scheme (gRPC policies name their bearer scheme themselves, Courtyard.Authorization); the
        // portal's policies name this one as well, so its pages do not depend on what else the host registers.
        builder.Services.AddAuthentication(Scheme)
            .AddCookie(Scheme, cookie =>
            {
                cookie.Cookie.Name = CookieName;
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.LoginPath = SignInPath;
                cookie.AccessDeniedPath = "/account/denied";
                cookie.ReturnUrlParameter = "returnUrl";
                cookie.SlidingExpiration = false;
                cookie.Events.OnValidatePrincipal = context =>
                    context.HttpContext.RequestServices.GetRequiredService<TokenRefresher>().ValidateAsync(context);
            });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(SignedInPolicy, policy => policy.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser())
            .AddPolicy(CommitteePolicy, policy => policy.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser()
                .RequireAssertion(context => new PortalUser(context.User).IsCommittee));
        builder.Services.AddSingleton<TokenRefresher>();
        builder.Services.AddScoped<PortalSignIn>();
        builder.Services.AddCascadingAuthenticationState();
    }

    /// <summary>The ticket's tokens from a Directory token response.</summary>
    internal static void StoreTokens(AuthenticationProperties properties, TokenResponse tokens)
    {
        properties.StoreTokens(
        [
            new AuthenticationToken { Name = AccessTokenName, Value = tokens.AccessToken },
            new AuthenticationToken { Name = RefreshTokenName, Value = tokens.RefreshToken },
            new AuthenticationToken { Name = AccessTokenExpiresName, Value = tokens.AccessTokenExpiresAt.ToDateTimeOffset().ToString("O") },
        ]);
        properties.IsPersistent = true;
        properties.ExpiresUtc = tokens.RefreshTokenExpiresAt?.ToDateTimeOffset() ?? DateTimeOffset.UtcNow.AddDays(1);
        properties.AllowRefresh = false;
    }

    /// <summary>Claims for the cookie from WhoAmI: the account, the courtyard shown, residencies and role grants.</summary>
    internal static async Task<ClaimsPrincipal> PrincipalAsync(DirectoryClient directory, string accessToken, CancellationToken cancellationToken)
    {
        var headers = new Metadata { { "authorization", $"Bearer {accessToken}" } };
        var me = await directory.WhoAmIAsync(new WhoAmIRequest(), headers, cancellationToken: cancellationToken);
        var identity = new ClaimsIdentity(Scheme, PortalUser.NameClaim, ClaimTypes.Role);
        identity.AddClaim(new Claim(PortalUser.AccountClaim, me.AccountId));
        identity.AddClaim(new Claim(PortalUser.NameClaim, me.DisplayName.Length > 0 ? me.DisplayName : me.Login));
        var living = me.Residencies.Where(r => r.Until is null).ToList();
        foreach (var residency in living)
        {
            identity.AddClaim(new Claim(PortalUser.ResidencyClaim, new Residency(residency.Ref.CourtyardId, residency.HouseholdId,
                residency.Id, RelationName(residency.Relation)).ToString()));
        }
        var grants = me.Grants.Where(g => g.Revoked is null && (g.ValidUntil is null || g.ValidUntil.ToDateTimeOffset() > DateTimeOffset.UtcNow)).ToList();
        foreach (var grant in grants)
        {
            identity.AddClaim(new Claim(PortalUser.GrantClaim, $"{GrantRoleName(grant.Role)}@{ScopeId(grant.Scope)}"));
        }
        string courtyard = living.Select(r => r.Ref.CourtyardId)
            .Concat(grants.Select(g => g.Scope?.CourtyardId ?? ""))
            .FirstOrDefault(id => id.Length > 0) ?? "";
        if (courtyard.Length > 0)
        {
            identity.AddClaim(new Claim(PortalUser.CourtyardClaim, courtyard));
            try
            {
                var node = await directory.GetTerritoryNodeAsync(new GetTerritoryNodeRequest { Id = courtyard }, headers, cancellationToken: cancellationToken);
                identity.AddClaim(new Claim(PortalUser.CourtyardNameClaim, node.Name?.ZhCn ?? ""));
            }
            catch (RpcException)
            {
                // The name is a courtesy in the header; the id is enough to work.
            }
        }
        return new ClaimsPrincipal(identity);
    }

    private static string ScopeId(Courtyard.Common.V1.TerritoryRef? scope) =>
        scope is null ? "*"
        : scope.CourtyardId.Length > 0 ? scope.CourtyardId
        : scope.CommunityId.Length > 0 ? scope.CommunityId
        : scope.StreetId.Length > 0 ? scope.StreetId
        : "*";

    internal static string RelationName(HouseholdRelation relation) => relation switch
    {
        HouseholdRelation.Owner => "owner",
        HouseholdRelation.CoOwner => "co_owner",
        HouseholdRelation.FamilyMember => "family_member",
        HouseholdRelation.Tenant => "tenant",
        _ => "unspecified",
    };

    private static string GrantRoleName(Role role) => role switch
    {
        Role.Resident => "resident",
        Role.HouseholdRepresentative => "household_representative",
        Role.CommitteeMember => RoleNames.CommitteeMember,
        Role.CommitteeChair => RoleNames.CommitteeChair,
        Role.Mediator => "mediator",
        Role.Volunteer => "volunteer",
        Role.SocialWorker => "social_worker",
        Role.OrganizationMember => "organization_member",
        Role.CommunityOfficial => "community_official",
        Role.StreetOfficial => "street_official",
        Role.PlatformAdmin => "platform_admin",
        _ => "unspecified",
    };
}
