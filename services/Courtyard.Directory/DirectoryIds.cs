using System.Security.Cryptography;
using System.Text;

namespace Courtyard.Directory;

/// <summary>
/// The ids Directory issues (prefixes from proto/courtyard/common/v1/ids.proto). Clients treat them as opaque; inside,
/// an id issued by a courtyard's roll carries the courtyard's key and a number (<c>hh_k3m9q2x7ab.15</c>), and a role
/// grant carries its scope (<c>rg_cy_k3m9q2x7ab.3</c>), so a request is routed to the one grain that holds it without a
/// lookup.
/// </summary>
public static class DirectoryIds
{
    public const string Street = "st_";
    public const string Community = "cm_";
    public const string Courtyard = "cy_";
    public const string Household = "hh_";
    public const string Resident = "rs_";
    public const string RoleGrant = "rg_";
    public const string Account = "ac_";

    /// <summary>The chain of audit entries outside any territory (staff accounts without a scope, unknown logins).</summary>
    public const string PlatformChain = "platform";

    private const string Alphabet = "abcdefghijkmnpqrstuvwxyz23456789";

    /// <summary>A street, community or courtyard id derived from its parent and the creating request, so a retried request names the same node.</summary>
    public static string NewTerritoryNode(string prefix, string parentId, string requestId)
    {
        byte[] digest = SHA256.HashData(Encoding.UTF8.GetBytes($"{parentId}\n{requestId}"));
        return prefix + Encode(digest.AsSpan(0, 8));
    }

    public static string HouseholdOf(string courtyardId, int number) => $"{Household}{KeyOf(courtyardId)}.{number}";

    public static string ResidentOf(string courtyardId, int number) => $"{Resident}{KeyOf(courtyardId)}.{number}";

    public static string GrantOf(string scopeId, int number) => $"{RoleGrant}{scopeId}.{number}";

    /// <summary>The courtyard whose roll issued a household or resident id; null when the id is not one.</summary>
    public static string? CourtyardOfRollId(string id)
    {
        if (!(id.StartsWith(Household, StringComparison.Ordinal) || id.StartsWith(Resident, StringComparison.Ordinal)))
        {
            return null;
        }
        int dot = id.LastIndexOf('.');
        if (dot <= 3 || !int.TryParse(id.AsSpan(dot + 1), out _))
        {
            return null;
        }
        return Courtyard + id[3..dot];
    }

    /// <summary>The scope (street, community or courtyard) a role grant id belongs to; null when the id is not one.</summary>
    public static string? ScopeOfGrant(string id)
    {
        if (!id.StartsWith(RoleGrant, StringComparison.Ordinal))
        {
            return null;
        }
        int dot = id.LastIndexOf('.');
        if (dot <= 3 || !int.TryParse(id.AsSpan(dot + 1), out _))
        {
            return null;
        }
        string scope = id[3..dot];
        return LevelOf(scope) is not null ? scope : null;
    }

    /// <summary>STREET, COMMUNITY or COURTYARD from the id's prefix; null for anything else.</summary>
    public static Common.V1.TerritoryLevel? LevelOf(string nodeId) =>
        nodeId.Length <= 3 ? null
        : nodeId.StartsWith(Street, StringComparison.Ordinal) ? Common.V1.TerritoryLevel.Street
        : nodeId.StartsWith(Community, StringComparison.Ordinal) ? Common.V1.TerritoryLevel.Community
        : nodeId.StartsWith(Courtyard, StringComparison.Ordinal) ? Common.V1.TerritoryLevel.Courtyard
        : null;

    private static string KeyOf(string courtyardId) =>
        courtyardId.StartsWith(Courtyard, StringComparison.Ordinal) ? courtyardId[Courtyard.Length..]
        : throw new ArgumentException($"Not a courtyard id: {courtyardId}", nameof(courtyardId));

    private static string Encode(ReadOnlySpan<byte> bytes)
    {
        var builder = new StringBuilder(bytes.Length * 8 / 5 + 1);
        int buffer = 0, bits = 0;
        foreach (byte b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                builder.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0)
        {
            builder.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }
        return builder.ToString();
    }
}
