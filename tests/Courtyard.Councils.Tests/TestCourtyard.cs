using Courtyard.Authorization.Claims;
using Courtyard.Common.V1;
using Courtyard.Directory.V1;
using Grpc.Core;

namespace Courtyard.Councils.Tests;

/// <summary>One household on a test roll: its owner (null when a tenant lives there and the owner is not on the roll).</summary>
public sealed record TestHousehold(string Id, long AreaDm2, string? OwnerId, string? TenantId);

/// <summary>
/// A courtyard whose roll is filled the way production fills it: Directory's membership events, delivered through the
/// event transport to Councils' handlers. Callers get tokens as Directory issues them: an account, its grants
/// (<c>committee_chair@cy_…</c>, <c>resident@cy_…</c>) and its resident ids.
/// </summary>
public sealed class TestCourtyard(CouncilsTestHost host, string id, TestHousehold[] households)
{
    public const string StreetId = "st_test";
    public const string CommunityId = "cm_test";

    public string Id { get; } = id;

    public TestHousehold[] Households { get; } = households;

    public TerritoryRef Territory => new() { StreetId = StreetId, CommunityId = CommunityId, CourtyardId = Id };

    public string ChairId => $"rs_{Id}_chair";

    public string MemberId => $"rs_{Id}_member";

    public CallOptions Chair => host.As(AccountOf(ChairId), [new(Role.CommitteeChair, Id), new(Role.Resident, Id)], ChairId);

    public CallOptions Member => host.As(AccountOf(MemberId), [new(Role.CommitteeMember, Id), new(Role.Resident, Id)], MemberId);

    public CallOptions Owner(int household) => Resident(Households[household].OwnerId!);

    public CallOptions Resident(string residentId) => host.As(AccountOf(residentId), [new GrantClaim(Role.Resident, Id)], residentId);

    /// <summary>The account a test resident signs in with.</summary>
    public static string AccountOf(string residentId) => "ac_" + residentId;

    public static Task<TestCourtyard> SeedAsync(CouncilsTestHost host, int households, int tenanted = 0, Func<int, long>? areaDm2 = null) =>
        SeedAsync(host, "cy_" + Guid.NewGuid().ToString("N")[..10], households, tenanted, areaDm2);

    /// <summary>
    /// Registers <paramref name="households"/> households (areas from <paramref name="areaDm2"/>, by default 60–139 m²)
    /// with an owner each; the last <paramref name="tenanted"/> are let to a tenant whose landlord is not on the roll.
    /// </summary>
    public static async Task<TestCourtyard> SeedAsync(CouncilsTestHost host, string id, int households, int tenanted = 0, Func<int, long>? areaDm2 = null)
    {
        areaDm2 ??= i => 6000 + (i * 3779 % 8000);
        var territory = new TerritoryRef { StreetId = StreetId, CommunityId = CommunityId, CourtyardId = id };
        await host.DeliverFromDirectoryAsync(id, new TerritoryNodeCreated { NodeId = id, Level = TerritoryLevel.Courtyard, Ref = territory });
        var list = new TestHousehold[households];
        for (var i = 0; i < households; i++)
        {
            var tenantedHere = i >= households - tenanted;
            var household = new TestHousehold($"hh_{id}_{i:D4}", areaDm2(i), tenantedHere ? null : $"rs_{id}_{i:D4}_o", tenantedHere ? $"rs_{id}_{i:D4}_t" : null);
            list[i] = household;
            await host.DeliverFromDirectoryAsync(id, new HouseholdChanged
            {
                HouseholdId = household.Id, Ref = territory, DoorLabel = $"{i / 40 + 1}栋{i / 10 % 4 + 1}单元{i % 10 + 1:D2}01", ExclusiveAreaDm2 = household.AreaDm2,
                Occupancy = tenantedHere ? Occupancy.Tenant : Occupancy.Owner, Changes = { HouseholdChange.Registered },
            });
            if (household.OwnerId is { } owner)
                await host.DeliverFromDirectoryAsync(id, new ResidentJoined
                {
                    ResidentId = owner, HouseholdId = household.Id, Ref = territory, Relation = HouseholdRelation.Owner, DisplayName = $"业主{i}",
                });
            if (household.TenantId is { } tenant)
                await host.DeliverFromDirectoryAsync(id, new ResidentJoined
                {
                    ResidentId = tenant, HouseholdId = household.Id, Ref = territory, Relation = HouseholdRelation.Tenant, DisplayName = $"租户{i}",
                });
        }
        return new TestCourtyard(host, id, list);
    }
}
