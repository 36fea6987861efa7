using Courtyard.Directory.V1;

namespace Courtyard.Authorization.Claims;

/// <summary>
/// "The caller holds <see cref="Role"/> in <see cref="ScopeId"/>" as carried in a token: <c>committee_chair@cy_…</c>.
/// A platform admin's scope is <see cref="Everywhere"/>.
/// </summary>
public readonly record struct GrantClaim(Role Role, string ScopeId)
{
    public const string Everywhere = "*";

    public override string ToString() => $"{RoleNames.Of(Role)}@{ScopeId}";

    public static bool TryParse(string value, out GrantClaim grant)
    {
        grant = default;
        int at = value.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at == value.Length - 1 || !RoleNames.TryParse(value[..at], out var role))
        {
            return false;
        }
        grant = new GrantClaim(role, value[(at + 1)..]);
        return true;
    }
}
