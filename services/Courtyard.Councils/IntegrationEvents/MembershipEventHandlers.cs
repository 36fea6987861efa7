using Courtyard.Common.V1;
using Courtyard.Councils.Roll;
using Courtyard.Directory.V1;

namespace Courtyard.Councils.IntegrationEvents;

/// <summary>
/// Keeps Councils' copy of each courtyard's roll from the Directory's membership events (topic "directory"). Each
/// handler passes the delivery's id so the roll grain records the event with its change, exactly once. The event bus
/// registers these when Courtyard.Events' handler API lands; until then tests and the demo call them directly.
/// </summary>
public sealed class MembershipEventHandlers(IGrainFactory grains)
{
    public const string Source = "directory";

    public Task Handle(HouseholdChanged changed, string eventId) =>
        Roll(changed.Ref).HouseholdChanged(Mark(eventId), Path(changed.Ref), changed.HouseholdId, changed.DoorLabel, changed.ExclusiveAreaDm2, changed.RepresentativeId);

    public Task Handle(ResidentJoined joined, string eventId) =>
        Roll(joined.Ref).ResidentChanged(Mark(eventId), Path(joined.Ref), joined.ResidentId, joined.HouseholdId, (Relation)joined.Relation, joined.DisplayName);

    public Task Handle(ResidentUpdated updated, string eventId) =>
        Roll(updated.Ref).ResidentChanged(Mark(eventId), Path(updated.Ref), updated.ResidentId, updated.HouseholdId, (Relation)updated.Relation, updated.DisplayName);

    public Task Handle(ResidentLeft left, string eventId) =>
        Roll(left.Ref).ResidentLeft(Mark(eventId), left.ResidentId, left.HouseholdId);

    private IRollGrain Roll(TerritoryRef territory) => grains.GetGrain<IRollGrain>(
        string.IsNullOrEmpty(territory?.CourtyardId) ? throw new ArgumentException("A membership event must name its courtyard.") : territory.CourtyardId);

    private static TerritoryPath Path(TerritoryRef territory) => new(territory.StreetId, territory.CommunityId, territory.CourtyardId);

    private static DeliveryMark Mark(string eventId) => new(CouncilsNames.Service, Source, eventId);
}
