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

    public Task Handle(HouseholdRegistered registered, string eventId) =>
        Roll(registered.Ref).HouseholdRegistered(Mark(eventId), Path(registered.Ref), registered.HouseholdId, registered.DoorLabel, registered.ExclusiveAreaDm2);

    public Task Handle(HouseholdAreaChanged changed, string eventId) =>
        Roll(changed.Ref).HouseholdAreaChanged(Mark(eventId), changed.HouseholdId, changed.ExclusiveAreaDm2);

    public Task Handle(HouseholdRepresentativeChanged changed, string eventId) =>
        Roll(changed.Ref).HouseholdRepresentativeChanged(Mark(eventId), changed.HouseholdId, changed.RepresentativeId);

    public Task Handle(ResidentJoined joined, string eventId) =>
        Roll(joined.Ref).ResidentJoined(Mark(eventId), joined.ResidentId, joined.HouseholdId, (Relation)joined.Relation, joined.DisplayName);

    public Task Handle(ResidentMovedOut movedOut, string eventId) =>
        Roll(movedOut.Ref).ResidentMovedOut(Mark(eventId), movedOut.ResidentId, movedOut.HouseholdId);

    private IRollGrain Roll(TerritoryRef territory) => grains.GetGrain<IRollGrain>(
        string.IsNullOrEmpty(territory?.CourtyardId) ? throw new ArgumentException("A membership event must name its courtyard.") : territory.CourtyardId);

    private static TerritoryPath Path(TerritoryRef territory) => new(territory.StreetId, territory.CommunityId, territory.CourtyardId);

    private static DeliveryMark Mark(string eventId) => new(CouncilsNames.Service, Source, eventId);
}
