using Courtyard.Councils.Voting;
using Courtyard.Storage;

namespace Courtyard.Councils.Roll;

[GenerateSerializer]
public sealed class RollHousehold
{
    [Id(0)] public string Id { get; set; } = "";
    [Id(1)] public string DoorLabel { get; set; } = "";
    [Id(2)] public long AreaDm2 { get; set; }
    [Id(3)] public string RepresentativeId { get; set; } = "";
}

[GenerateSerializer]
public sealed class RollResident
{
    [Id(0)] public string Id { get; set; } = "";
    [Id(1)] public string HouseholdId { get; set; } = "";
    [Id(2)] public Relation Relation { get; set; }
    [Id(3)] public string DisplayName { get; set; } = "";
}

[GenerateSerializer]
public sealed class RollState : IHasPendingEffects
{
    [Id(0)] public TerritoryPath? Territory { get; set; }
    [Id(1)] public Dictionary<string, RollHousehold> Households { get; set; } = [];
    [Id(2)] public Dictionary<string, RollResident> Residents { get; set; } = [];

    [field: NonSerialized] public PendingEffects Effects { get; } = new();
}

[GrainType("councils.roll")]
public sealed class RollGrain([PersistentState("roll", CouncilsNames.Storage)] IPersistentState<RollState> roll) : Grain, IRollGrain
{
    private RollState State => roll.State;

    public Task HouseholdChanged(InboxMark mark, TerritoryPath territory, string householdId, string doorLabel, long areaDm2, string representativeId) =>
        Apply(mark, () =>
        {
            State.Territory ??= territory;
            var household = State.Households.TryGetValue(householdId, out var known) ? known : State.Households[householdId] = new RollHousehold { Id = householdId };
            household.DoorLabel = doorLabel;
            household.AreaDm2 = areaDm2;
            household.RepresentativeId = representativeId;
        });

    public Task ResidentChanged(InboxMark mark, TerritoryPath territory, string residentId, string householdId, Relation relation, string displayName) =>
        Apply(mark, () =>
        {
            State.Territory ??= territory;
            State.Residents[residentId] = new RollResident { Id = residentId, HouseholdId = householdId, Relation = relation, DisplayName = displayName };
        });

    public Task ResidentLeft(InboxMark mark, string residentId, string householdId) =>
        Apply(mark, () =>
        {
            if (State.Residents.TryGetValue(residentId, out var resident) && resident.HouseholdId == householdId)
                State.Residents.Remove(residentId);
            if (State.Households.TryGetValue(householdId, out var household) && household.RepresentativeId == residentId)
                household.RepresentativeId = "";
        });

    public Task<EligibleVoter[]> Electorate(ElectorateKind kind, bool ownersByArea)
    {
        var residentsByHousehold = State.Residents.Values.ToLookup(resident => resident.HouseholdId);
        if (kind == ElectorateKind.PerResident)
            return Task.FromResult(State.Residents.Values.OrderBy(r => r.Id, StringComparer.Ordinal)
                .Select(resident => new EligibleVoter(resident.Id, 0, [resident.Id], resident.DisplayName)).ToArray());

        return Task.FromResult(State.Households.Values.OrderBy(h => h.Id, StringComparer.Ordinal).Select(household =>
        {
            var members = residentsByHousehold[household.Id].ToList();
            // Art. 278: owners decide, one vote per exclusive part; a household whose owner is not on the roll (let to a
            // tenant) still counts in the totals and votes on paper or by proxy, entered by the committee.
            string[] casters = ownersByArea
                ? members.Where(m => m.Relation is Relation.Owner or Relation.CoOwner).Select(m => m.Id).ToArray()
                : household.RepresentativeId.Length > 0 && members.Any(m => m.Id == household.RepresentativeId)
                    ? [household.RepresentativeId]
                    : members.Select(m => m.Id).ToArray();
            return new EligibleVoter(household.Id, household.AreaDm2, casters, household.DoorLabel);
        }).ToArray());
    }

    public Task<bool> LivesIn(string[] residentIds, string householdId) =>
        Task.FromResult(residentIds.Any(id => State.Residents.TryGetValue(id, out var resident) && resident.HouseholdId == householdId));

    public Task<bool> HasHousehold(string householdId) => Task.FromResult(State.Households.ContainsKey(householdId));

    public Task<RollSummary> Summary() => Task.FromResult(new RollSummary(State.Households.Count, State.Residents.Count, State.Territory));

    private async Task Apply(InboxMark mark, Action change)
    {
        State.Effects.Consume(mark);
        change();
        await roll.WriteStateAsync();
    }
}
