using System.Collections.Concurrent;
using Courtyard.Authorization.Territory;
using Courtyard.Common.V1;

namespace Courtyard.Directory.Territory;

/// <summary>
/// Where a node sits, answered from Directory's own territory grains. Registered by <c>AddDirectory</c>, so every
/// service in the same process (the embedded host) scopes its checks with it. A node's path never changes, so a found
/// path is kept for the life of the process.
/// </summary>
internal sealed class DirectoryTerritoryPlacements(IGrainFactory grains) : ITerritoryPlacements
{
    private readonly ConcurrentDictionary<string, TerritoryRef> known = new(StringComparer.Ordinal);

    public async ValueTask<TerritoryRef?> FindAsync(string nodeId, CancellationToken cancellationToken)
    {
        if (known.TryGetValue(nodeId, out var path))
        {
            return path;
        }
        if (DirectoryIds.LevelOf(nodeId) is null)
        {
            return null;
        }
        var node = await grains.GetGrain<ITerritoryNodeGrain>(nodeId).GetAsync();
        if (node is null)
        {
            return null;
        }
        path = node.ToRef();
        known.TryAdd(nodeId, path);
        return path;
    }
}
