using Courtyard.Authorization.Access;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Courtyard.Directory.V1;

namespace Courtyard.Directory.Grpc;

/// <summary>
/// Who may call each RPC of courtyard.directory.v1.Directory: the one place this is decided. A courtyard grant covers
/// that courtyard; a community or street grant covers what lies below; platform admin covers everything.
/// </summary>
public static class DirectoryAccess
{
    public static readonly Role[] Committee = [Role.CommitteeMember, Role.CommitteeChair];
    public static readonly Role[] Officials = [Role.CommunityOfficial, Role.StreetOfficial, Role.PlatformAdmin];

    /// <summary>Keep the roll: import it, register and correct households and residents, print invitations, create accounts on a resident's behalf.</summary>
    public static readonly Role[] RollKeepers = [.. Committee, .. Officials];

    /// <summary>Read the roll (phones masked for all but the courtyard's committee).</summary>
    public static readonly Role[] RollReaders = [.. Committee, Role.Mediator, Role.SocialWorker, .. Officials];

    /// <summary>Grant and revoke roles in a scope.</summary>
    public static readonly Role[] Granters = [Role.CommitteeChair, .. Officials];

    /// <summary>Read and verify a scope's audit chain and its grants.</summary>
    public static readonly Role[] Auditors = [.. Committee, .. Officials];

    /// <summary>Create streets, communities and courtyards, and staff accounts.</summary>
    public static readonly Role[] TerritoryKeepers = Officials;

    public static ServiceDescriptor Service { get; } = DirectoryReflection.Descriptor.FindTypeByName<ServiceDescriptor>("Directory");

    public static RpcAccessTable Table { get; } = RpcAccessTable.For(Service)
        .Anonymous(
            nameof(V1.Directory.DirectoryBase.SignIn),
            nameof(V1.Directory.DirectoryBase.RedeemInvitation),
            nameof(V1.Directory.DirectoryBase.RefreshToken),
            nameof(V1.Directory.DirectoryBase.SignOut))
        .SignedIn(
            nameof(V1.Directory.DirectoryBase.WhoAmI),
            nameof(V1.Directory.DirectoryBase.ChangePassword),
            nameof(V1.Directory.DirectoryBase.GetTerritoryNode),
            nameof(V1.Directory.DirectoryBase.ListTerritoryChildren))
        .Scoped(nameof(V1.Directory.DirectoryBase.CreateTerritoryNode), TerritoryKeepers, "parent_id", ScopeResolvers.Territory)
        .Scoped(nameof(V1.Directory.DirectoryBase.ImportRoll), RollKeepers, "courtyard_id", ScopeResolvers.Courtyard)
        .Scoped(nameof(V1.Directory.DirectoryBase.RegisterHousehold), RollKeepers, "courtyard_id", ScopeResolvers.Courtyard)
        .Scoped(nameof(V1.Directory.DirectoryBase.UpdateHousehold), RollKeepers, "household_id", DirectoryScopes.Household)
        .Scoped(nameof(V1.Directory.DirectoryBase.SetHouseholdRepresentative), RollKeepers, "household_id", DirectoryScopes.Household)
        .Scoped(nameof(V1.Directory.DirectoryBase.GetHousehold), RollReaders, "household_id", DirectoryScopes.Household)
        .Scoped(nameof(V1.Directory.DirectoryBase.ListHouseholds), RollReaders, "courtyard_id", ScopeResolvers.Courtyard)
        .Scoped(nameof(V1.Directory.DirectoryBase.RegisterResident), RollKeepers, "household_id", DirectoryScopes.Household)
        .Scoped(nameof(V1.Directory.DirectoryBase.GetResident), RollReaders, "resident_id", DirectoryScopes.Resident, alsoSelf: true)
        .Scoped(nameof(V1.Directory.DirectoryBase.ListResidents), RollReaders, "courtyard_id", ScopeResolvers.Courtyard)
        .Scoped(nameof(V1.Directory.DirectoryBase.EndResidency), RollKeepers, "resident_id", DirectoryScopes.Resident)
        .Scoped(nameof(V1.Directory.DirectoryBase.GrantRole), Granters, "scope_id", ScopeResolvers.Territory)
        .Scoped(nameof(V1.Directory.DirectoryBase.RevokeRole), Granters, "role_grant_id", DirectoryScopes.RoleGrant)
        .Scoped(nameof(V1.Directory.DirectoryBase.ListRoleGrants), Auditors, "scope_id", ScopeResolvers.Territory)
        .Scoped(nameof(V1.Directory.DirectoryBase.CreateInvitations), RollKeepers, "courtyard_id", ScopeResolvers.Courtyard)
        .Scoped(nameof(V1.Directory.DirectoryBase.CreateResidentAccount), RollKeepers, "resident_id", DirectoryScopes.Resident)
        .Scoped(nameof(V1.Directory.DirectoryBase.CreateStaffAccount), TerritoryKeepers, "scope_id", ScopeResolvers.Territory)
        .Scoped(nameof(V1.Directory.DirectoryBase.ListAuditEntries), Auditors, "chain_id", ScopeResolvers.Territory)
        .Scoped(nameof(V1.Directory.DirectoryBase.VerifyAuditLog), Auditors, "chain_id", ScopeResolvers.Territory)
        .Build();
}

/// <summary>Directory's ids that name their territory (<see cref="DirectoryIds"/>).</summary>
public static class DirectoryScopes
{
    /// <summary>A household id names its courtyard.</summary>
    public static IScopeResolver Household { get; } = new Resolver("household", id => id.StartsWith(DirectoryIds.Household, StringComparison.Ordinal) ? DirectoryIds.CourtyardOfRollId(id) : null);

    /// <summary>A resident id names its courtyard.</summary>
    public static IScopeResolver Resident { get; } = new Resolver("resident", id => id.StartsWith(DirectoryIds.Resident, StringComparison.Ordinal) ? DirectoryIds.CourtyardOfRollId(id) : null);

    /// <summary>A role grant id names its scope.</summary>
    public static IScopeResolver RoleGrant { get; } = new Resolver("role_grant", DirectoryIds.ScopeOfGrant);

    private sealed class Resolver(string kind, Func<string, string?> resolve) : IScopeResolver
    {
        public string Kind => kind;
        public string? TerritoryNodeOf(string value) => resolve(value);
    }
}
