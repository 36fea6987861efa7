namespace Courtyard.Authorization.Access;

/// <summary>
/// Reads the territory node an RPC's request is about from one of its id fields: a courtyard id is itself; a household
/// id names its courtyard (Directory's resolvers). <see cref="Kind"/> names the kind of id, so the authorization matrix
/// test can supply an id of that kind in the caller's own courtyard and in another.
/// </summary>
public interface IScopeResolver
{
    /// <summary>The kind of id the field holds: "courtyard", "territory", "household", …</summary>
    string Kind { get; }

    /// <summary>The street, community or courtyard id that the request touches; null when the value is not an id of this kind.</summary>
    string? TerritoryNodeOf(string value);
}

/// <summary>Resolvers for fields that hold a territory node id as it is.</summary>
public static class ScopeResolvers
{
    /// <summary>A courtyard id (<c>cy_…</c>).</summary>
    public static IScopeResolver Courtyard { get; } = new PrefixResolver("courtyard", "cy_");

    /// <summary>A street, community or courtyard id (<c>st_…</c>, <c>cm_…</c>, <c>cy_…</c>).</summary>
    public static IScopeResolver Territory { get; } = new PrefixResolver("territory", "st_", "cm_", "cy_");

    /// <summary>A field that names no territory (a service name, for platform operations): only platform admins are covered.</summary>
    public static IScopeResolver NoTerritory { get; } = new PrefixResolver("platform");

    private sealed class PrefixResolver(string kind, params string[] prefixes) : IScopeResolver
    {
        public string Kind => kind;

        public string? TerritoryNodeOf(string value) =>
            prefixes.Any(p => value.StartsWith(p, StringComparison.Ordinal) && value.Length > p.Length) ? value : null;
    }
}
