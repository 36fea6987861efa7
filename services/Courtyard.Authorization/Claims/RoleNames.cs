using System.Collections.Frozen;
using Courtyard.Directory.V1;

namespace Courtyard.Authorization.Claims;

/// <summary>
/// The name of each <see cref="Role"/> in tokens and messages: the proto enum value without its prefix, in lower case
/// (<c>ROLE_COMMITTEE_CHAIR</c> → <c>committee_chair</c>), so a new role in the contract needs no code here.
/// </summary>
public static class RoleNames
{
    private static readonly FrozenDictionary<Role, string> NameOf = DirectoryReflection.Descriptor.EnumTypes
        .Single(e => e.ClrType == typeof(Role)).Values
        .Where(v => v.Number != (int)Role.Unspecified)
        .ToFrozenDictionary(v => (Role)v.Number, v => v.Name["ROLE_".Length..].ToLowerInvariant());

    private static readonly FrozenDictionary<string, Role> RoleOf = NameOf.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    /// <summary>Every role of the contract except UNSPECIFIED.</summary>
    public static IReadOnlyCollection<Role> All { get; } = NameOf.Keys.Order().ToArray();

    public static string Of(Role role) =>
        NameOf.TryGetValue(role, out var name) ? name : throw new ArgumentOutOfRangeException(nameof(role), role, "Not a role of courtyard.directory.v1.Role.");

    public static bool TryParse(string name, out Role role) => RoleOf.TryGetValue(name, out role);

    /// <summary>How residents read the role, zh-CN.</summary>
    public static string Chinese(Role role) => role switch
    {
        Role.Resident => "居民",
        Role.HouseholdRepresentative => "户代表",
        Role.CommitteeMember => "院委会委员",
        Role.CommitteeChair => "院委会主任",
        Role.Mediator => "调解员",
        Role.Volunteer => "志愿者",
        Role.SocialWorker => "社工",
        Role.OrganizationMember => "社会组织成员",
        Role.CommunityOfficial => "社区干部",
        Role.StreetOfficial => "街道干部",
        Role.PlatformAdmin => "平台管理员",
        _ => Of(role),
    };
}
