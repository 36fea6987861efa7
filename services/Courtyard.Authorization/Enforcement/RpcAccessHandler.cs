using Courtyard.Authorization.Access;
using Courtyard.Authorization.Claims;
using Courtyard.Authorization.Territory;
using Courtyard.Common.V1;
using Courtyard.Directory.V1;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Authorization.Enforcement;

/// <summary>
/// Decides a scoped rule: the caller holds one of the rule's roles in a scope that covers the territory the request's
/// scope field names. A courtyard grant covers that courtyard; a community grant covers the community and its courtyards;
/// a street grant covers the street and everything below it; platform admin covers everything. A node the placements do
/// not know is covered only by a grant on that very node (so a guess learns nothing).
/// </summary>
public sealed class RpcAccessHandler(IServiceProvider services) : AuthorizationHandler<RpcAccessRequirement, RpcRequestResource>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, RpcAccessRequirement requirement, RpcRequestResource resource)
    {
        var rule = requirement.Rule;
        var caller = CourtyardCaller.From(context.User);
        if (caller is null)
        {
            context.Fail(new AuthorizationFailureReason(this, "未登录。Not signed in."));
            return;
        }
        switch (rule.Kind)
        {
            case RpcAccessKind.Anonymous:
            case RpcAccessKind.SignedIn:
                context.Succeed(requirement);
                return;
        }
        string value = rule.ScopeValueOf(resource.Request);
        if (rule.AlsoSelf && value.Length > 0 && (value == caller.AccountId || caller.ResidentIds.Contains(value, StringComparer.Ordinal)))
        {
            context.Succeed(requirement);
            return;
        }
        var scopes = await CoveringScopesAsync(rule, value);
        foreach (var grant in caller.Grants)
        {
            if (rule.Roles.Contains(grant.Role) && (IsPlatformAdmin(grant) || scopes.Contains(grant.ScopeId)))
            {
                context.Succeed(requirement);
                return;
            }
        }
        context.Fail(new AuthorizationFailureReason(this, Refusal(rule)));
    }

    private static bool IsPlatformAdmin(GrantClaim grant) => grant.Role == Role.PlatformAdmin && grant.ScopeId == GrantClaim.Everywhere;

    /// <summary>The scope ids whose grants cover the request's territory: the node and the nodes above it.</summary>
    private async ValueTask<IReadOnlyList<string>> CoveringScopesAsync(RpcAccessRule rule, string value)
    {
        if (value.Length == 0 || rule.Resolver!.TerritoryNodeOf(value) is not { } node)
        {
            return [];
        }
        // A host without placements has no rule that needs them (AuthorizationStartupCheck): the node is all it knows.
        var placements = services.GetService<ITerritoryPlacements>();
        TerritoryRef? path = placements is null ? null : await placements.FindAsync(node, CancellationToken.None);
        if (path is null)
        {
            return [node];
        }
        return new[] { path.CourtyardId, path.CommunityId, path.StreetId, node }
            .Where(id => id.Length > 0)
            .Distinct(StringComparer.Ordinal)
            .ToArray();
    }

    private static string Refusal(RpcAccessRule rule)
    {
        string zh = string.Join("、", rule.Roles.Order().Select(RoleNames.Chinese));
        string en = string.Join(", ", rule.Roles.Order().Select(RoleNames.Of));
        return $"无权操作：需要在该范围内担任{zh}。Permission denied: {rule.Method.Name} needs one of {en} covering this {rule.Resolver!.Kind}.";
    }
}
