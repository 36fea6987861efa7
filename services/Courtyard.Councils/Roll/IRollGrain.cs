using Courtyard.Councils.Voting;
using Courtyard.Storage;

namespace Courtyard.Councils.Roll;

/// <summary>A resident's relation to a household (values match courtyard.directory.v1.HouseholdRelation).</summary>
public enum Relation
{
    Owner = 1,
    CoOwner = 2,
    FamilyMember = 3,
    Tenant = 4,
}

/// <summary>Where a courtyard sits: the ids above it, for TerritoryRef in events.</summary>
[GenerateSerializer, Immutable]
public sealed record TerritoryPath([property: Id(0)] string StreetId, [property: Id(1)] string CommunityId, [property: Id(2)] string CourtyardId);

[GenerateSerializer, Immutable]
public sealed record RollSummary([property: Id(0)] int Households, [property: Id(1)] int Residents, [property: Id(2)] TerritoryPath? Territory);

/// <summary>
/// Councils' own copy of a courtyard's roll, kept from the Directory's membership events (households with their
/// exclusive floor area and representative, residents with their relation): what an electorate is frozen from, and
/// whom a resident may act for. Each method is what one membership event does, and records the event's inbox mark with
/// the change in one state write: a repeated event changes nothing (its write fails with InboxMarkAlreadyRecordedException).
/// </summary>
public interface IRollGrain : IGrainWithStringKey
{
    /// <summary>A household registered, or its area or representative changed: the household as it is now.</summary>
    Task HouseholdChanged(InboxMark mark, TerritoryPath territory, string householdId, string doorLabel, long areaDm2, string representativeId);

    /// <summary>A resident joined the roll, or their details changed: the resident as they are now.</summary>
    Task ResidentChanged(InboxMark mark, TerritoryPath territory, string residentId, string householdId, Relation relation, string displayName);

    Task ResidentLeft(InboxMark mark, string residentId, string householdId);

    /// <summary>The electorate as the roll stands now (frozen by the vote that asks).</summary>
    Task<EligibleVoter[]> Electorate(ElectorateKind kind, bool ownersByArea);

    /// <summary>Whether one of the residents lives in the household (so its account may co-sign for it online).</summary>
    Task<bool> LivesIn(string[] residentIds, string householdId);

    Task<bool> HasHousehold(string householdId);

    Task<RollSummary> Summary();
}
