using Courtyard.Common.V1;
using Courtyard.Directory.V1;
using Courtyard.Storage;

namespace Courtyard.Directory.Territory;

/// <summary>A street, community or courtyard as grains pass it around.</summary>
[GenerateSerializer, Immutable]
public sealed record TerritoryNodeSnapshot(
    [property: Id(0)] string Id,
    [property: Id(1)] TerritoryLevel Level,
    [property: Id(2)] string StreetId,
    [property: Id(3)] string CommunityId,
    [property: Id(4)] string CourtyardId,
    [property: Id(5)] string NameZh,
    [property: Id(6)] string NameEn,
    [property: Id(7)] string AdminCode)
{
    public TerritoryRef ToRef() => new() { StreetId = StreetId, CommunityId = CommunityId, CourtyardId = CourtyardId };

    public TerritoryNode ToProto() => new()
    {
        Id = Id,
        Level = Level,
        Ref = ToRef(),
        Name = new LocalizedText { ZhCn = NameZh, En = NameEn },
        AdminCode = AdminCode,
    };
}

/// <summary>A role held by an account in this node's scope.</summary>
[GenerateSerializer]
public sealed class RoleGrantRecord
{
    [Id(0)] public string Id { get; set; } = "";
    [Id(1)] public string AccountId { get; set; } = "";
    [Id(2)] public Role Role { get; set; }
    [Id(3)] public string OrganizationId { get; set; } = "";
    [Id(4)] public DateTimeOffset ValidFrom { get; set; }
    [Id(5)] public DateTimeOffset? ValidUntil { get; set; }
    [Id(6)] public string GrantedBy { get; set; } = "";
    [Id(7)] public string GrantRequestId { get; set; } = "";
    [Id(8)] public DateTimeOffset? RevokedAt { get; set; }
    [Id(9)] public string RevokedBy { get; set; } = "";
    [Id(10)] public string RevokeReason { get; set; } = "";
    [Id(11)] public string RevokeRequestId { get; set; } = "";

    public bool IsActive(DateTimeOffset now) => RevokedAt is null && ValidFrom <= now && (ValidUntil is null || ValidUntil > now);

    public RoleGrantRecord Copy() => (RoleGrantRecord)MemberwiseClone();
}

/// <summary>
/// One street, community or courtyard (or the root, keyed "platform", whose children are the streets): its place in the
/// tree, its children, and the role grants scoped to it.
/// </summary>
[GenerateSerializer]
public sealed class TerritoryNodeState : IHasPendingEffects
{
    [Id(0)] public TerritoryNodeSnapshot? Node { get; set; }
    [Id(1)] public List<TerritoryNodeSnapshot> Children { get; set; } = [];
    [Id(2)] public List<RoleGrantRecord> Grants { get; set; } = [];
    [Id(3)] public int LastGrantNumber { get; set; }
    [Id(4)] public RequestLog Requests { get; set; } = new();

    [field: NonSerialized]
    public PendingEffects Effects { get; } = new();
}
