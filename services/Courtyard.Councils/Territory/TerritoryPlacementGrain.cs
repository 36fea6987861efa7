using Courtyard.Councils.Roll;
using Courtyard.Storage;
using Orleans.Concurrency;

namespace Courtyard.Councils.Territory;

/// <summary>
/// Where one street, community or courtyard sits (street → community → courtyard ids), as Directory's
/// TerritoryNodeCreated said. Councils' own copy, kept so authorization can tell whether a community or street role
/// covers a courtyard without calling Directory. A node's path never changes, so the first event decides it.
/// </summary>
public interface ITerritoryPlacementGrain : IGrainWithStringKey
{
    /// <summary>Records the node's path with the event's inbox mark, in one write.</summary>
    Task Record(InboxMark mark, TerritoryPath path);

    /// <summary>The node's path, or null when no TerritoryNodeCreated has arrived for it.</summary>
    [ReadOnly]
    Task<TerritoryPath?> Find();
}

[GenerateSerializer]
public sealed class TerritoryPlacementState : IHasPendingEffects
{
    [Id(0)] public TerritoryPath? Path { get; set; }

    [field: NonSerialized] public PendingEffects Effects { get; } = new();
}

[GrainType("councils.territory_placement")]
public sealed class TerritoryPlacementGrain(
    [PersistentState("territory_placement", CouncilsNames.Storage)] IPersistentState<TerritoryPlacementState> placement) : Grain, ITerritoryPlacementGrain
{
    public async Task Record(InboxMark mark, TerritoryPath path)
    {
        placement.State.Effects.Consume(mark);
        placement.State.Path ??= path;
        await placement.WriteStateAsync();
    }

    public Task<TerritoryPath?> Find() => Task.FromResult(placement.State.Path);
}
