using System.Security.Claims;
using Courtyard.Authorization.Access;
using Courtyard.Authorization.Claims;
using Courtyard.Authorization.Enforcement;
using Courtyard.Authorization.Territory;
using Courtyard.Common.V1;
using Courtyard.Directory.V1;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Authorization;

namespace Courtyard.Authorization.Tests.Enforcement;

/// <summary>Which grant covers which courtyard, decided by <see cref="RpcAccessHandler"/> through ASP.NET Core authorization.</summary>
public sealed class CoverageTests
{
    private static readonly ServiceDescriptor Directory = DirectoryReflection.Descriptor.FindTypeByName<ServiceDescriptor>("Directory");

    private static readonly RpcAccessRule ListHouseholds = RpcAccessTable.For(Directory)
        .SignedIn(Directory.Methods.Select(m => m.Name).Where(n => n != "ListHouseholds").ToArray())
        .Scoped("ListHouseholds", [Role.CommitteeMember, Role.CommunityOfficial, Role.StreetOfficial, Role.PlatformAdmin], "courtyard_id", ScopeResolvers.Courtyard)
        .Build().Rules["ListHouseholds"];

    private sealed class Placements : ITerritoryPlacements
    {
        public ValueTask<TerritoryRef?> FindAsync(string nodeId, CancellationToken cancellationToken) =>
            ValueTask.FromResult<TerritoryRef?>(nodeId switch
            {
                "cy_a1x" => new TerritoryRef { StreetId = "st_a", CommunityId = "cm_a1", CourtyardId = "cy_a1x" },
                "cy_a2x" => new TerritoryRef { StreetId = "st_a", CommunityId = "cm_a2", CourtyardId = "cy_a2x" },
                _ => null,
            });
    }

    /// <summary>A service provider holding the test's placements only.</summary>
    private sealed class PlacementsOnly : IServiceProvider
    {
        public object? GetService(Type serviceType) => serviceType == typeof(ITerritoryPlacements) ? new Placements() : null;
    }

    private static async Task<bool> Allowed(string courtyardId, params GrantClaim[] grants)
    {
        var identity = new ClaimsIdentity([new Claim(CourtyardClaimTypes.Subject, "ac_x"), .. grants.Select(g => new Claim(CourtyardClaimTypes.Grant, g.ToString()))], "test");
        var handler = new RpcAccessHandler(new PlacementsOnly());
        var requirement = new RpcAccessRequirement(ListHouseholds);
        var context = new AuthorizationHandlerContext([requirement], new ClaimsPrincipal(identity), new RpcRequestResource(new ListHouseholdsRequest { CourtyardId = courtyardId }));
        await handler.HandleAsync(context);
        return context.HasSucceeded;
    }

    [Fact]
    public async Task A_courtyard_role_covers_its_courtyard_only()
    {
        Assert.True(await Allowed("cy_a1x", new GrantClaim(Role.CommitteeMember, "cy_a1x")));
        Assert.False(await Allowed("cy_a2x", new GrantClaim(Role.CommitteeMember, "cy_a1x")));
    }

    [Fact]
    public async Task A_community_role_covers_its_courtyards_and_a_street_role_its_communities()
    {
        Assert.True(await Allowed("cy_a1x", new GrantClaim(Role.CommunityOfficial, "cm_a1")));
        Assert.False(await Allowed("cy_a2x", new GrantClaim(Role.CommunityOfficial, "cm_a1")));
        Assert.True(await Allowed("cy_a2x", new GrantClaim(Role.StreetOfficial, "st_a")));
    }

    [Fact]
    public async Task A_role_the_rule_does_not_name_covers_nothing_and_platform_admin_covers_everything()
    {
        Assert.False(await Allowed("cy_a1x", new GrantClaim(Role.Volunteer, "cy_a1x")));
        Assert.True(await Allowed("cy_unknown", new GrantClaim(Role.PlatformAdmin, GrantClaim.Everywhere)));
        // A grant that merely claims "everywhere" is not platform admin.
        Assert.False(await Allowed("cy_a1x", new GrantClaim(Role.StreetOfficial, GrantClaim.Everywhere)));
    }

    [Fact]
    public async Task An_unknown_courtyard_is_covered_only_by_a_grant_on_that_very_id()
    {
        Assert.False(await Allowed("cy_unknown", new GrantClaim(Role.StreetOfficial, "st_a")));
        Assert.True(await Allowed("cy_unknown", new GrantClaim(Role.CommitteeMember, "cy_unknown")));
    }
}
