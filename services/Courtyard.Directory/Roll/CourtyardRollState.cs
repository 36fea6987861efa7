using Courtyard.Common.V1;
using Courtyard.Directory.Territory;
using Courtyard.Directory.V1;
using Courtyard.Storage;

namespace Courtyard.Directory.Roll;

[GenerateSerializer]
public sealed class HouseholdRecord
{
    [Id(0)] public string Id { get; set; } = "";
    [Id(1)] public string Building { get; set; } = "";
    [Id(2)] public string Unit { get; set; } = "";
    [Id(3)] public string Room { get; set; } = "";
    [Id(4)] public long AreaDm2 { get; set; }
    [Id(5)] public Occupancy Occupancy { get; set; }
    [Id(6)] public string RepresentativeId { get; set; } = "";

    public HouseholdKey Key => new(Building, Unit, Room);
}

[GenerateSerializer]
public sealed class ResidentRecord
{
    [Id(0)] public string Id { get; set; } = "";
    [Id(1)] public string HouseholdId { get; set; } = "";
    [Id(2)] public HouseholdRelation Relation { get; set; }
    [Id(3)] public string Name { get; set; } = "";
    [Id(4)] public string Phone { get; set; } = "";
    [Id(5)] public string AccountId { get; set; } = "";
    [Id(6)] public bool Offline { get; set; }
    [Id(7)] public DateTimeOffset Since { get; set; }
    [Id(8)] public DateTimeOffset? Until { get; set; }

    public bool IsCurrent => Until is null;
    public bool IsOwner => Relation is HouseholdRelation.Owner or HouseholdRelation.CoOwner;
}

/// <summary>
/// A courtyard's roll, in one grain state so that an import is one write: all of it or nothing. Households and
/// residents are keyed by id; the door index is rebuilt on activation.
/// </summary>
[GenerateSerializer]
public sealed class CourtyardRollState : IHasPendingEffects
{
    [Id(0)] public TerritoryNodeSnapshot? Courtyard { get; set; }
    [Id(1)] public Dictionary<string, HouseholdRecord> Households { get; set; } = [];
    [Id(2)] public Dictionary<string, ResidentRecord> Residents { get; set; } = [];
    [Id(3)] public int LastHouseholdNumber { get; set; }
    [Id(4)] public int LastResidentNumber { get; set; }
    [Id(5)] public RequestLog Requests { get; set; } = new();

    [field: NonSerialized]
    public PendingEffects Effects { get; } = new();
}

/// <summary>A household as the roll answers: with its current residents and its courtyard's path.</summary>
[GenerateSerializer, Immutable]
public sealed record HouseholdSnapshot(
    [property: Id(0)] string Id,
    [property: Id(1)] HouseholdKey Key,
    [property: Id(2)] long AreaDm2,
    [property: Id(3)] Occupancy Occupancy,
    [property: Id(4)] string RepresentativeId,
    [property: Id(5)] IReadOnlyList<string> ResidentIds,
    [property: Id(6)] TerritoryNodeSnapshot Courtyard)
{
    public TerritoryRef Ref => new()
    {
        StreetId = Courtyard.StreetId, CommunityId = Courtyard.CommunityId, CourtyardId = Courtyard.CourtyardId, HouseholdId = Id,
    };

    public Household ToProto()
    {
        var household = new Household
        {
            Id = Id, Ref = Ref, Building = Key.Building, Unit = Key.Unit, Room = Key.Room, DoorLabel = Key.DoorLabel,
            ExclusiveAreaDm2 = AreaDm2, Occupancy = Occupancy, RepresentativeId = RepresentativeId,
        };
        household.ResidentIds.AddRange(ResidentIds);
        return household;
    }
}

[GenerateSerializer, Immutable]
public sealed record ResidentSnapshot(
    [property: Id(0)] string Id,
    [property: Id(1)] string HouseholdId,
    [property: Id(2)] HouseholdRelation Relation,
    [property: Id(3)] string Name,
    [property: Id(4)] string Phone,
    [property: Id(5)] string AccountId,
    [property: Id(6)] bool Offline,
    [property: Id(7)] DateTimeOffset Since,
    [property: Id(8)] DateTimeOffset? Until,
    [property: Id(9)] TerritoryNodeSnapshot Courtyard)
{
    public TerritoryRef Ref => new()
    {
        StreetId = Courtyard.StreetId, CommunityId = Courtyard.CommunityId, CourtyardId = Courtyard.CourtyardId, HouseholdId = HouseholdId,
    };

    /// <param name="showPhone">Only the courtyard's committee and the resident themself see the number.</param>
    public Resident ToProto(bool showPhone) => new()
    {
        Id = Id,
        HouseholdId = HouseholdId,
        Ref = Ref,
        Relation = Relation,
        DisplayName = Name,
        Phone = showPhone ? Phone : Accounts.Logins.MaskPhone(Phone),
        AccountId = AccountId,
        Offline = Offline,
        Since = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Since),
        Until = Until is { } until ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(until) : null,
    };
}

/// <summary>A place an account holds on this roll, for its token.</summary>
[GenerateSerializer, Immutable]
public sealed record Membership([property: Id(0)] string ResidentId, [property: Id(1)] bool IsRepresentative);

[GenerateSerializer, Immutable]
public sealed record ImportCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] IReadOnlyList<RollRow> Rows,
    [property: Id(2)] string FileSha256,
    [property: Id(3)] bool DryRun,
    [property: Id(4)] string ActorId);

[GenerateSerializer, Immutable]
public sealed record ImportOutcome(
    [property: Id(0)] int HouseholdsAdded,
    [property: Id(1)] int HouseholdsChanged,
    [property: Id(2)] int ResidentsAdded,
    [property: Id(3)] int ResidentsChanged,
    [property: Id(4)] int Rows,
    [property: Id(5)] string FileSha256,
    [property: Id(6)] bool DryRun)
{
    public bool Unchanged => HouseholdsAdded + HouseholdsChanged + ResidentsAdded + ResidentsChanged == 0;

    public string Serialize() => string.Join(',', HouseholdsAdded, HouseholdsChanged, ResidentsAdded, ResidentsChanged, Rows, FileSha256);

    public static ImportOutcome Deserialize(string text)
    {
        var parts = text.Split(',');
        return new(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[4], System.Globalization.CultureInfo.InvariantCulture), parts[5], false);
    }

    public ImportSummary ToProto() => new()
    {
        HouseholdsAdded = HouseholdsAdded, HouseholdsChanged = HouseholdsChanged, ResidentsAdded = ResidentsAdded,
        ResidentsChanged = ResidentsChanged, Rows = Rows, FileSha256 = FileSha256, Unchanged = Unchanged, DryRun = DryRun,
    };
}

[GenerateSerializer, Immutable]
public sealed record HouseholdCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string HouseholdId,
    [property: Id(2)] HouseholdKey Key,
    [property: Id(3)] long AreaDm2,
    [property: Id(4)] Occupancy Occupancy,
    [property: Id(5)] string Reason,
    [property: Id(6)] string ActorId);

[GenerateSerializer, Immutable]
public sealed record ResidentCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string HouseholdId,
    [property: Id(2)] HouseholdRelation Relation,
    [property: Id(3)] string Name,
    [property: Id(4)] string Phone,
    [property: Id(5)] bool Offline,
    [property: Id(6)] string AccountId,
    [property: Id(7)] string ActorId);

[GenerateSerializer, Immutable]
public sealed record JoinCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string HouseholdId,
    [property: Id(2)] string Phone,
    [property: Id(3)] string Name,
    [property: Id(4)] HouseholdRelation Relation,
    [property: Id(5)] string AccountId);
