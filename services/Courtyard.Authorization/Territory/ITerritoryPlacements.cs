using Courtyard.Common.V1;

namespace Courtyard.Authorization.Territory;

/// <summary>
/// Where a street, community or courtyard sits: the path from its street down to it. Authorization needs it to know
/// whether a community or street grant covers the courtyard a request is about.
/// <para>
/// Directory answers from its own territory (registered by <c>AddDirectory</c>, so every service in the embedded host
/// uses it too). A service in its own process keeps a copy from Directory's <c>TerritoryNodeCreated</c> events, whose
/// path never changes, and registers its own implementation (see the README).
/// </para>
/// </summary>
public interface ITerritoryPlacements
{
    /// <summary>The node's path (street, community and courtyard ids down to the node), or null when the node is unknown.</summary>
    ValueTask<TerritoryRef?> FindAsync(string nodeId, CancellationToken cancellationToken);
}
