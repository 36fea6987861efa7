using Courtyard.Common.V1;
using Courtyard.Councils.Roll;
using Courtyard.Councils.Territory;
using Courtyard.Directory.V1;
using Courtyard.Events;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Councils.IntegrationEvents;

/// <summary>
/// What Councils consumes from Directory (topic "directory"): where each courtyard sits (for authorization) and each
/// courtyard's roll (households with their floor area and representative, residents with their relation), from which
/// electorates are frozen. Each handler passes its delivery's inbox mark to the one grain whose state write carries the
/// effect, so a redelivered event changes nothing. Role grants are not consumed: callers' roles come in their tokens.
/// </summary>
public static class MembershipEventHandlers
{
    /// <summary>Councils' consumer (its inbox, and its queue per topic).</summary>
    public const string Consumer = CouncilsNames.Service;

    public static EventBus HandleMembershipEvents(this EventBus bus) => bus
        .Handle<TerritoryNodeCreated>(Consumer, (created, delivery) =>
            Grains(delivery).GetGrain<ITerritoryPlacementGrain>(Required(created.NodeId, "node_id"))
                .Record(delivery.TakeMark(), Path(created.Ref)))
        .Handle<HouseholdChanged>(Consumer, (changed, delivery) =>
            Roll(delivery, changed.Ref).HouseholdChanged(delivery.TakeMark(), Path(changed.Ref), changed.HouseholdId, changed.DoorLabel,
                changed.ExclusiveAreaDm2, changed.RepresentativeId))
        .Handle<ResidentJoined>(Consumer, (joined, delivery) =>
            Roll(delivery, joined.Ref).ResidentChanged(delivery.TakeMark(), Path(joined.Ref), joined.ResidentId, joined.HouseholdId,
                (Relation)joined.Relation, joined.DisplayName))
        .Handle<ResidentUpdated>(Consumer, (updated, delivery) =>
            Roll(delivery, updated.Ref).ResidentChanged(delivery.TakeMark(), Path(updated.Ref), updated.ResidentId, updated.HouseholdId,
                (Relation)updated.Relation, updated.DisplayName))
        .Handle<ResidentLeft>(Consumer, (left, delivery) =>
            Roll(delivery, left.Ref).ResidentLeft(delivery.TakeMark(), left.ResidentId, left.HouseholdId));

    private static IGrainFactory Grains(EventDelivery delivery) => delivery.Services.GetRequiredService<IGrainFactory>();

    private static IRollGrain Roll(EventDelivery delivery, TerritoryRef? territory) =>
        Grains(delivery).GetGrain<IRollGrain>(Required(territory?.CourtyardId, "ref.courtyard_id"));

    private static TerritoryPath Path(TerritoryRef? territory) => new(territory?.StreetId ?? "", territory?.CommunityId ?? "", territory?.CourtyardId ?? "");

    private static string Required(string? id, string field) =>
        string.IsNullOrEmpty(id) ? throw new ArgumentException($"A membership event must carry {field}.") : id;
}
