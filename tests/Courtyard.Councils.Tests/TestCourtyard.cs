using Courtyard.Common.V1;
using Courtyard.Directory.V1;
using Grpc.Core;

namespace Courtyard.Councils.Tests;

/// <summary>One household on a test roll: its owner (null when a tenant lives there and the owner is not on the roll).</summary>
public sealed record TestHousehold(string Id, long AreaDm2, string? OwnerId, string? TenantId);

/// <summary>A courtyard whose roll is filled the way production fills it: through the Directory's membership events.</summary>
public sealed class TestCourtyard(CouncilsTestHost host, string id, TestHousehold[] households)
{
    public string Id { get; } = id;

    public TestHousehold[] Households { get; } = households;

    public string ChairId => $"rs_{Id}_chair";

    public string MemberId => $"rs_{Id}_member";

    public CallOptions Chair => host.As(ChairId, $"committee_chair:{Id}", $"resident:{Id}");

    public CallOptions Member => host.As(MemberId, $"committee_member:{Id}", $"resident:{Id}");

    public CallOptions Owner(int household) => host.As(Households[household].OwnerId!, $"resident:{Id}");

    public CallOptions Resident(string residentId) => host.As(residentId, $"resident:{Id}");

    public static Task<TestCourtyard> SeedAsync(CouncilsTestHost host, int households, int tenanted = 0, Func<int, long>? areaDm2 = null) =>
        SeedAsync(host, "cy_" + Guid.NewGuid().ToString("N")[..10], households, tenanted, areaDm2);

    /// <summary>
    /// Registers <paramref name="households"/> households (areas from <paramref name="areaDm2"/>, by default 60–139 m²)
    /// with an owner each; the last <paramref name="tenanted"/> are let to a tenant whose landlord is not on the roll.
    /// </summary>
    public static async Task<TestCourtyard> SeedAsync(CouncilsTestHost host, string id, int households, int tenanted = 0, Func<int, long>? areaDm2 = null)
    {
        areaDm2 ??= i => 6000 + (i * 3779 % 8000);
        var territory = new TerritoryRef { StreetId = "st_test", CommunityId = "cm_test", CourtyardId = id };
        var list = new TestHousehold[households];
        var membership = host.Membership;
        await Parallel.ForEachAsync(Enumerable.Range(0, households), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var tenantedHere = i >= households - tenanted;
            var household = new TestHousehold($"hh_{id}_{i:D4}", areaDm2(i), tenantedHere ? null : $"rs_{id}_{i:D4}_o", tenantedHere ? $"rs_{id}_{i:D4}_t" : null);
            list[i] = household;
            await membership.Handle(new HouseholdChanged
            {
                HouseholdId = household.Id, Ref = territory, DoorLabel = $"{i / 40 + 1}栋{i / 10 % 4 + 1}单元{i % 10 + 1:D2}01", ExclusiveAreaDm2 = household.AreaDm2,
            }, $"ev_hh_{household.Id}");
            if (household.OwnerId is { } owner)
                await membership.Handle(new ResidentJoined
                {
                    ResidentId = owner, HouseholdId = household.Id, Ref = territory, Relation = HouseholdRelation.Owner, DisplayName = $"业主{i}",
                }, $"ev_rs_{owner}");
            if (household.TenantId is { } tenant)
                await membership.Handle(new ResidentJoined
                {
                    ResidentId = tenant, HouseholdId = household.Id, Ref = territory, Relation = HouseholdRelation.Tenant, DisplayName = $"租户{i}",
                }, $"ev_rs_{tenant}");
        });
        return new TestCourtyard(host, id, list);
    }
}
