using System.Collections.Concurrent;
using Courtyard.Authorization.Territory;
using Courtyard.Common.V1;

namespace Courtyard.Councils.Territory;

/// <summary>
/// <see cref="ITerritoryPlacements"/> from Councils' copy (<see cref="ITerritoryPlacementGrain"/>). Found paths are cached
/// for the life of the process: they never change. Where Directory runs in the same process, its own placements are
/// registered instead.
/// </summary>
public sealed class CouncilsTerritoryPlacements(IGrainFactory grains) : ITerritoryPlacements
{
    private readonly ConcurrentDictionary<string, TerritoryRef> known = new(StringComparer.Ordinal);

    public async ValueTask<TerritoryRef?> FindAsync(string nodeId, CancellationToken cancellationToken)
    {
        if (known.TryGetValue(nodeId, out var cached))
        {
            return cached;
        }
        if (await grains.GetGrain<ITerritoryPlacementGrain>(nodeId).Find() is not { } path)
        {
            return null;
        }
        var found = new TerritoryRef { StreetId = path.StreetId, CommunityId = path.CommunityId, CourtyardId = path.CourtyardId };
        known.TryAdd(nodeId, found);
        return found;
    }
}
