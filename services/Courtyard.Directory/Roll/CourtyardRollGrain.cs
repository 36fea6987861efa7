using Courtyard.Common.V1;
using Courtyard.Directory.Audit;
using Courtyard.Directory.Territory;
using Courtyard.Directory.V1;
using Courtyard.Events;
using Courtyard.ServiceDefaults;
using Courtyard.Storage;
using Google.Protobuf.WellKnownTypes;

namespace Courtyard.Directory.Roll;

/// <summary>
/// A courtyard's roll, keyed by the courtyard id: its households (floor area, occupancy, representative) and residents.
/// Every change raises its membership event next to it and is written in one state write.
/// </summary>
public interface ICourtyardRollGrain : IGrainWithStringKey
{
    /// <summary>Applies a checked file: households and residents it lists are added or brought in line with it;
    /// those it does not list stay as they are. A file the roll already matches writes nothing.</summary>
    Task<ImportOutcome> ImportAsync(ImportCommand command);

    Task<HouseholdSnapshot> RegisterHouseholdAsync(HouseholdCommand command);
    Task<HouseholdSnapshot> UpdateHouseholdAsync(HouseholdCommand command);
    Task<HouseholdSnapshot> SetRepresentativeAsync(string requestId, string householdId, string residentId, string actorId);
    Task<HouseholdSnapshot?> GetHouseholdAsync(string householdId);

    /// <summary>Households in id order after <paramref name="afterId"/>, at most <paramref name="max"/>.</summary>
    Task<IReadOnlyList<HouseholdSnapshot>> ListHouseholdsAsync(string afterId, int max);

    Task<ResidentSnapshot> RegisterResidentAsync(ResidentCommand command);
    Task<ResidentSnapshot?> GetResidentAsync(string residentId);
    Task<IReadOnlyList<ResidentSnapshot>> ListResidentsAsync(bool includeFormer, string afterId, int max);
    Task<ResidentSnapshot> EndResidencyAsync(string requestId, string residentId, string actorId);

    /// <summary>
    /// Puts the holder of a redeemed invitation on its household: the resident the roll already lists with this phone
    /// (or, without phones, this name) and no account yet; else a new family member or tenant. Owners come only from the
    /// committee's roll, since they count in art. 278 votes. A retry of the request, or the same account again, changes nothing.
    /// </summary>
    Task<ResidentSnapshot> JoinAsync(JoinCommand command);

    /// <summary>Records that a resident signs in with an account.</summary>
    Task<ResidentSnapshot> LinkAccountAsync(string residentId, string accountId);

    /// <summary>The account's current places on this roll (for its token).</summary>
    Task<IReadOnlyList<Membership>> MembershipOfAsync(string accountId);

    /// <summary>The named households, or (none named) the households without a resident who has an account, in id order
    /// after <paramref name="afterId"/>, at most <paramref name="max"/>.</summary>
    Task<IReadOnlyList<HouseholdSnapshot>> InvitationTargetsAsync(IReadOnlyList<string> householdIds, string afterId, int max);
}

[GrainType("directory.courtyard_roll")]
internal sealed class CourtyardRollGrain(
    [PersistentState("roll", DirectoryOptions.ServiceName)] IPersistentState<CourtyardRollState> state,
    [FromKeyedServices(DirectoryOptions.ServiceName)] TimeProvider time) : Grain, ICourtyardRollGrain
{
    private readonly Dictionary<HouseholdKey, string> byDoor = [];

    private CourtyardRollState State => state.State;
    private string CourtyardId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var household in State.Households.Values)
        {
            byDoor[household.Key] = household.Id;
        }
        return Task.CompletedTask;
    }

    public async Task<ImportOutcome> ImportAsync(ImportCommand command)
    {
        var courtyard = await CourtyardAsync();
        Refusals.RequireRequestId(command.RequestId);
        if (State.Requests.TryGet(command.RequestId, out string handled))
        {
            return ImportOutcome.Deserialize(handled);
        }
        var now = time.GetUtcNow();
        int householdsAdded = 0, householdsChanged = 0, residentsAdded = 0, residentsChanged = 0;
        // Work on copies: a dry run (or a failure before the write) leaves the live state untouched.
        var households = State.Households.ToDictionary(p => p.Key, p => Clone(p.Value));
        var residents = State.Residents.ToDictionary(p => p.Key, p => Clone(p.Value));
        var doors = new Dictionary<HouseholdKey, string>(byDoor);
        int lastHousehold = State.LastHouseholdNumber, lastResident = State.LastResidentNumber;
        // Committed with the write below; nothing is raised for a dry run or an unchanged file.
        var raised = new List<OutboxMessage>();
        var residentsOf = residents.Values.Where(r => r.IsCurrent).GroupBy(r => r.HouseholdId).ToDictionary(g => g.Key, g => g.ToList());

        foreach (var group in command.Rows.GroupBy(r => r.Household))
        {
            var rows = group.ToArray();
            var occupancy = rows.Any(r => r.Relation == HouseholdRelation.Tenant) ? Occupancy.Tenant : Occupancy.Owner;
            long area = rows[0].AreaDm2;
            HouseholdRecord household;
            var changes = new List<HouseholdChange>();
            long previousArea = 0;
            if (doors.TryGetValue(group.Key, out string? householdId))
            {
                household = households[householdId];
                if (household.AreaDm2 != area)
                {
                    previousArea = household.AreaDm2;
                    household.AreaDm2 = area;
                    changes.Add(HouseholdChange.Area);
                }
                if (household.Occupancy != occupancy)
                {
                    household.Occupancy = occupancy;
                    changes.Add(HouseholdChange.Occupancy);
                }
                householdsChanged += changes.Count > 0 ? 1 : 0;
            }
            else
            {
                household = new HouseholdRecord
                {
                    Id = DirectoryIds.HouseholdOf(CourtyardId, ++lastHousehold),
                    Building = group.Key.Building, Unit = group.Key.Unit, Room = group.Key.Room,
                    AreaDm2 = area, Occupancy = occupancy,
                };
                households[household.Id] = household;
                doors[group.Key] = household.Id;
                changes.Add(HouseholdChange.Registered);
                householdsAdded++;
            }
            if (changes.Count > 0)
            {
                raised.Add(EventCatalog.ToOutbox(CourtyardId, HouseholdChangedEvent(courtyard, household, changes, previousArea, now)));
            }
            foreach (var row in rows)
            {
                if (!residentsOf.TryGetValue(household.Id, out var living))
                {
                    residentsOf[household.Id] = living = [];
                }
                var current = living.FirstOrDefault(r => SamePerson(r, row));
                if (current is null)
                {
                    var resident = new ResidentRecord
                    {
                        Id = DirectoryIds.ResidentOf(CourtyardId, ++lastResident),
                        HouseholdId = household.Id, Relation = row.Relation, Name = row.Name, Phone = row.Phone, Since = now,
                    };
                    residents[resident.Id] = resident;
                    living.Add(resident);
                    raised.Add(EventCatalog.ToOutbox(CourtyardId, ResidentJoinedEvent(courtyard, resident)));
                    residentsAdded++;
                }
                else if (current.Relation != row.Relation || current.Name != row.Name || (row.Phone.Length > 0 && current.Phone != row.Phone))
                {
                    current.Relation = row.Relation;
                    current.Name = row.Name;
                    current.Phone = row.Phone.Length > 0 ? row.Phone : current.Phone;
                    raised.Add(EventCatalog.ToOutbox(CourtyardId, ResidentUpdatedEvent(courtyard, current)));
                    residentsChanged++;
                }
            }
        }
        var outcome = new ImportOutcome(householdsAdded, householdsChanged, residentsAdded, residentsChanged, command.Rows.Count, command.FileSha256, command.DryRun);
        if (command.DryRun || outcome.Unchanged)
        {
            return outcome;
        }
        State.Households = households;
        State.Residents = residents;
        State.LastHouseholdNumber = lastHousehold;
        State.LastResidentNumber = lastResident;
        State.Requests.Add(command.RequestId, outcome.Serialize());
        foreach (var integrationEvent in raised)
        {
            State.Effects.Publish(integrationEvent);
        }
        Audit(AuditKind.RollImported, command.ActorId, command.FileSha256, new()
        {
            ["file_sha256"] = command.FileSha256,
            ["rows"] = Number(outcome.Rows),
            ["households_added"] = Number(householdsAdded),
            ["households_changed"] = Number(householdsChanged),
            ["residents_added"] = Number(residentsAdded),
            ["residents_changed"] = Number(residentsChanged),
        });
        await WriteAsync();
        foreach (var (door, id) in doors)
        {
            byDoor[door] = id;
        }
        return outcome;
    }

    public async Task<HouseholdSnapshot> RegisterHouseholdAsync(HouseholdCommand command)
    {
        var courtyard = await CourtyardAsync();
        Refusals.RequireRequestId(command.RequestId);
        if (State.Requests.TryGet(command.RequestId, out string handled))
        {
            return Snapshot(State.Households[handled], courtyard);
        }
        if (command.Key.Building.Length == 0 || command.Key.Room.Length == 0)
        {
            throw RequestRefusedException.InvalidArgument("请填写楼栋和房号。", "Building and room are required.");
        }
        RequireArea(command.AreaDm2);
        if (byDoor.ContainsKey(command.Key))
        {
            throw RequestRefusedException.AlreadyExists($"{command.Key.DoorLabel} 已登记。", $"{command.Key.DoorLabel} is already on the roll.");
        }
        var household = new HouseholdRecord
        {
            Id = DirectoryIds.HouseholdOf(CourtyardId, ++State.LastHouseholdNumber),
            Building = command.Key.Building, Unit = command.Key.Unit, Room = command.Key.Room,
            AreaDm2 = command.AreaDm2,
            Occupancy = command.Occupancy == Occupancy.Unspecified ? Occupancy.Owner : command.Occupancy,
        };
        State.Households[household.Id] = household;
        State.Requests.Add(command.RequestId, household.Id);
        State.Raise(CourtyardId, HouseholdChangedEvent(courtyard, household, [HouseholdChange.Registered], 0, time.GetUtcNow()));
        Audit(AuditKind.HouseholdChanged, command.ActorId, household.Id, new()
        {
            ["change"] = "registered", ["area_dm2"] = Number(household.AreaDm2), ["occupancy"] = household.Occupancy.ToString(),
        });
        await WriteAsync();
        byDoor[household.Key] = household.Id;
        return Snapshot(household, courtyard);
    }

    public async Task<HouseholdSnapshot> UpdateHouseholdAsync(HouseholdCommand command)
    {
        var courtyard = await CourtyardAsync();
        Refusals.RequireRequestId(command.RequestId);
        var household = FindHousehold(command.HouseholdId);
        if (State.Requests.TryGet(command.RequestId, out _))
        {
            return Snapshot(household, courtyard);
        }
        var changes = new List<HouseholdChange>();
        long previousArea = household.AreaDm2;
        if (command.AreaDm2 != 0)
        {
            RequireArea(command.AreaDm2);
            if (command.AreaDm2 != household.AreaDm2)
            {
                changes.Add(HouseholdChange.Area);
            }
        }
        if (command.Occupancy != Occupancy.Unspecified && command.Occupancy != household.Occupancy)
        {
            changes.Add(HouseholdChange.Occupancy);
        }
        if (changes.Count == 0)
        {
            return Snapshot(household, courtyard);
        }
        if (changes.Contains(HouseholdChange.Area))
        {
            household.AreaDm2 = command.AreaDm2;
        }
        if (changes.Contains(HouseholdChange.Occupancy))
        {
            household.Occupancy = command.Occupancy;
        }
        State.Requests.Add(command.RequestId, household.Id);
        State.Raise(CourtyardId, HouseholdChangedEvent(courtyard, household, changes, changes.Contains(HouseholdChange.Area) ? previousArea : 0, time.GetUtcNow()));
        Audit(AuditKind.HouseholdChanged, command.ActorId, household.Id, new()
        {
            ["change"] = string.Join(' ', changes), ["area_dm2"] = Number(household.AreaDm2), ["previous_area_dm2"] = Number(previousArea),
            ["occupancy"] = household.Occupancy.ToString(), ["reason"] = command.Reason,
        });
        await WriteAsync();
        return Snapshot(household, courtyard);
    }

    public async Task<HouseholdSnapshot> SetRepresentativeAsync(string requestId, string householdId, string residentId, string actorId)
    {
        var courtyard = await CourtyardAsync();
        Refusals.RequireRequestId(requestId);
        var household = FindHousehold(householdId);
        if (residentId.Length > 0)
        {
            var resident = State.Residents.GetValueOrDefault(residentId);
            if (resident is null || resident.HouseholdId != householdId || !resident.IsCurrent)
            {
                throw RequestRefusedException.FailedPrecondition("户代表必须是本户现住居民。", $"The representative must be a current resident of {household.Key.DoorLabel}.");
            }
        }
        if (household.RepresentativeId == residentId)
        {
            return Snapshot(household, courtyard);
        }
        household.RepresentativeId = residentId;
        State.Requests.Add(requestId, household.Id);
        State.Raise(CourtyardId, HouseholdChangedEvent(courtyard, household, [HouseholdChange.Representative], 0, time.GetUtcNow()));
        Audit(AuditKind.HouseholdChanged, actorId, household.Id, new() { ["change"] = "representative", ["representative_id"] = residentId });
        await WriteAsync();
        return Snapshot(household, courtyard);
    }

    public async Task<HouseholdSnapshot?> GetHouseholdAsync(string householdId)
    {
        var courtyard = await CourtyardAsync();
        return State.Households.TryGetValue(householdId, out var household) ? Snapshot(household, courtyard) : null;
    }

    public async Task<IReadOnlyList<HouseholdSnapshot>> ListHouseholdsAsync(string afterId, int max)
    {
        var courtyard = await CourtyardAsync();
        return State.Households.Values
            .OrderBy(h => NumberOf(h.Id))
            .Where(h => afterId.Length == 0 || NumberOf(h.Id) > NumberOf(afterId))
            .Take(max)
            .Select(h => Snapshot(h, courtyard))
            .ToArray();
    }

    public async Task<ResidentSnapshot> RegisterResidentAsync(ResidentCommand command)
    {
        var courtyard = await CourtyardAsync();
        Refusals.RequireRequestId(command.RequestId);
        if (State.Requests.TryGet(command.RequestId, out string handled))
        {
            return Snapshot(State.Residents[handled], courtyard);
        }
        var household = FindHousehold(command.HouseholdId);
        if (command.Relation == HouseholdRelation.Unspecified)
        {
            throw RequestRefusedException.InvalidArgument("请选择与本户的关系（业主、共有人、家属或租户）。", "The relation to the household is required (owner, co-owner, family member or tenant).");
        }
        string name = Refusals.RequireName(command.Name, "姓名", "name", 50);
        if (command.AccountId.Length > 0 && State.Residents.Values.FirstOrDefault(r => r.HouseholdId == household.Id && r.IsCurrent && r.AccountId == command.AccountId) is { } already)
        {
            return Snapshot(already, courtyard);
        }
        var resident = new ResidentRecord
        {
            Id = DirectoryIds.ResidentOf(CourtyardId, ++State.LastResidentNumber),
            HouseholdId = household.Id, Relation = command.Relation, Name = name, Phone = command.Phone,
            AccountId = command.AccountId, Offline = command.Offline, Since = time.GetUtcNow(),
        };
        State.Residents[resident.Id] = resident;
        State.Requests.Add(command.RequestId, resident.Id);
        State.Raise(CourtyardId, ResidentJoinedEvent(courtyard, resident));
        Audit(AuditKind.ResidentJoined, command.ActorId, resident.Id, new()
        {
            ["household_id"] = household.Id, ["relation"] = resident.Relation.ToString(), ["account_id"] = resident.AccountId,
        });
        await WriteAsync();
        return Snapshot(resident, courtyard);
    }

    public async Task<ResidentSnapshot?> GetResidentAsync(string residentId)
    {
        var courtyard = await CourtyardAsync();
        return State.Residents.TryGetValue(residentId, out var resident) ? Snapshot(resident, courtyard) : null;
    }

    public async Task<IReadOnlyList<ResidentSnapshot>> ListResidentsAsync(bool includeFormer, string afterId, int max)
    {
        var courtyard = await CourtyardAsync();
        return State.Residents.Values
            .Where(r => includeFormer || r.IsCurrent)
            .OrderBy(r => NumberOf(r.Id))
            .Where(r => afterId.Length == 0 || NumberOf(r.Id) > NumberOf(afterId))
            .Take(max)
            .Select(r => Snapshot(r, courtyard))
            .ToArray();
    }

    public async Task<ResidentSnapshot> EndResidencyAsync(string requestId, string residentId, string actorId)
    {
        var courtyard = await CourtyardAsync();
        Refusals.RequireRequestId(requestId);
        var resident = State.Residents.GetValueOrDefault(residentId) ?? throw Refusals.ResidentNotFound(residentId);
        if (!resident.IsCurrent)
        {
            return Snapshot(resident, courtyard);
        }
        var now = time.GetUtcNow();
        resident.Until = now;
        State.Requests.Add(requestId, resident.Id);
        State.Raise(CourtyardId, new ResidentLeft
        {
            ResidentId = resident.Id, HouseholdId = resident.HouseholdId, Ref = ResidentRef(courtyard, resident), Until = Timestamp.FromDateTimeOffset(now),
        });
        var household = State.Households[resident.HouseholdId];
        if (household.RepresentativeId == resident.Id)
        {
            household.RepresentativeId = "";
            State.Raise(CourtyardId, HouseholdChangedEvent(courtyard, household, [HouseholdChange.Representative], 0, now));
        }
        Audit(AuditKind.ResidentLeft, actorId, resident.Id, new() { ["household_id"] = resident.HouseholdId });
        await WriteAsync();
        return Snapshot(resident, courtyard);
    }

    public async Task<ResidentSnapshot> JoinAsync(JoinCommand command)
    {
        var courtyard = await CourtyardAsync();
        Refusals.RequireRequestId(command.RequestId);
        if (State.Requests.TryGet(command.RequestId, out string handled))
        {
            return Snapshot(State.Residents[handled], courtyard);
        }
        var household = FindHousehold(command.HouseholdId);
        var living = State.Residents.Values.Where(r => r.HouseholdId == household.Id && r.IsCurrent).ToArray();
        if (living.FirstOrDefault(r => r.AccountId == command.AccountId) is { } already)
        {
            return Snapshot(already, courtyard);
        }
        var listed = living.FirstOrDefault(r => r.AccountId.Length == 0 && command.Phone.Length > 0 && r.Phone == command.Phone)
            ?? living.FirstOrDefault(r => r.AccountId.Length == 0 && r.Phone.Length == 0 && r.Name == command.Name);
        ResidentRecord resident;
        if (listed is not null)
        {
            resident = listed;
            resident.AccountId = command.AccountId;
            State.Raise(CourtyardId, ResidentUpdatedEvent(courtyard, resident));
        }
        else
        {
            var relation = command.Relation switch
            {
                HouseholdRelation.Tenant => HouseholdRelation.Tenant,
                HouseholdRelation.FamilyMember => HouseholdRelation.FamilyMember,
                HouseholdRelation.Unspecified => household.Occupancy == Occupancy.Tenant ? HouseholdRelation.Tenant : HouseholdRelation.FamilyMember,
                _ => throw RequestRefusedException.FailedPrecondition(
                    "名册上没有找到您的业主登记。业主身份关系到表决，需由院委会核实后登记；您可以先以家属或租户身份加入。",
                    "The roll does not list you as an owner. Owners count in votes, so the committee records them; join as family member or tenant for now."),
            };
            resident = new ResidentRecord
            {
                Id = DirectoryIds.ResidentOf(CourtyardId, ++State.LastResidentNumber),
                HouseholdId = household.Id, Relation = relation, Name = Refusals.RequireName(command.Name, "姓名", "name", 50),
                Phone = command.Phone, AccountId = command.AccountId, Since = time.GetUtcNow(),
            };
            State.Residents[resident.Id] = resident;
            State.Raise(CourtyardId, ResidentJoinedEvent(courtyard, resident));
        }
        State.Requests.Add(command.RequestId, resident.Id);
        Audit(AuditKind.InvitationRedeemed, command.AccountId, resident.Id, new()
        {
            ["household_id"] = household.Id, ["account_id"] = command.AccountId, ["relation"] = resident.Relation.ToString(),
            ["matched_roll_entry"] = listed is not null ? "true" : "false",
        });
        await WriteAsync();
        return Snapshot(resident, courtyard);
    }

    public async Task<ResidentSnapshot> LinkAccountAsync(string residentId, string accountId)
    {
        var courtyard = await CourtyardAsync();
        var resident = State.Residents.GetValueOrDefault(residentId) ?? throw Refusals.ResidentNotFound(residentId);
        if (resident.AccountId == accountId)
        {
            return Snapshot(resident, courtyard);
        }
        if (resident.AccountId.Length > 0)
        {
            throw RequestRefusedException.AlreadyExists("该居民已有账号。", $"Resident {residentId} already has an account.");
        }
        resident.AccountId = accountId;
        State.Raise(CourtyardId, ResidentUpdatedEvent(courtyard, resident));
        await WriteAsync();
        return Snapshot(resident, courtyard);
    }

    public Task<IReadOnlyList<Membership>> MembershipOfAsync(string accountId) =>
        Task.FromResult<IReadOnlyList<Membership>>(State.Residents.Values
            .Where(r => r.AccountId == accountId && r.IsCurrent)
            .Select(r => new Membership(r.Id, State.Households.TryGetValue(r.HouseholdId, out var h) && h.RepresentativeId == r.Id))
            .ToArray());

    public async Task<IReadOnlyList<HouseholdSnapshot>> InvitationTargetsAsync(IReadOnlyList<string> householdIds, string afterId, int max)
    {
        var courtyard = await CourtyardAsync();
        if (householdIds.Count > 0)
        {
            return householdIds.Distinct().Select(id => Snapshot(FindHousehold(id), courtyard)).ToArray();
        }
        var signedUp = State.Residents.Values.Where(r => r.IsCurrent && r.AccountId.Length > 0).Select(r => r.HouseholdId).ToHashSet();
        return State.Households.Values
            .Where(h => !signedUp.Contains(h.Id) && (afterId.Length == 0 || NumberOf(h.Id) > NumberOf(afterId)))
            .OrderBy(h => NumberOf(h.Id))
            .Take(max)
            .Select(h => Snapshot(h, courtyard))
            .ToArray();
    }

    /// <summary>The courtyard this roll belongs to, learned once from the territory; a roll for no courtyard refuses everything.</summary>
    private async Task<TerritoryNodeSnapshot> CourtyardAsync()
    {
        if (State.Courtyard is { } known)
        {
            return known;
        }
        var node = await GrainFactory.GetGrain<ITerritoryNodeGrain>(CourtyardId).GetAsync();
        if (node is null || node.Level != TerritoryLevel.Courtyard)
        {
            throw Refusals.CourtyardNotFound(CourtyardId);
        }
        // Kept with the next write; the path of a courtyard never changes.
        State.Courtyard = node;
        return node;
    }

    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Memory is now ahead of storage: start again from what is stored.
            DeactivateOnIdle();
            throw;
        }
    }

    private HouseholdRecord FindHousehold(string householdId) =>
        State.Households.GetValueOrDefault(householdId) ?? throw Refusals.HouseholdNotFound(householdId);

    /// <summary>Records an audit entry in this courtyard's chain with the next state write (the same transaction).</summary>
    private void Audit(AuditKind kind, string actorId, string subjectId, Dictionary<string, string> details) =>
        State.RecordAudit(CourtyardId, new AuditFact(kind, actorId, subjectId, details), time.GetUtcNow());

    private HouseholdSnapshot Snapshot(HouseholdRecord household, TerritoryNodeSnapshot courtyard) => new(
        household.Id, household.Key, household.AreaDm2, household.Occupancy, household.RepresentativeId,
        State.Residents.Values.Where(r => r.HouseholdId == household.Id && r.IsCurrent).Select(r => r.Id).ToArray(), courtyard);

    private static ResidentSnapshot Snapshot(ResidentRecord r, TerritoryNodeSnapshot courtyard) =>
        new(r.Id, r.HouseholdId, r.Relation, r.Name, r.Phone, r.AccountId, r.Offline, r.Since, r.Until, courtyard);

    private static bool SamePerson(ResidentRecord resident, RollRow row) =>
        row.Phone.Length > 0 && resident.Phone.Length > 0 ? resident.Phone == row.Phone : resident.Name == row.Name;

    private static void RequireArea(long areaDm2)
    {
        if (areaDm2 <= 0 || areaDm2 > 1_000_000)
        {
            throw RequestRefusedException.InvalidArgument("面积应大于 0、不超过 10000 平方米（以平方分米计，1 平方米 = 100）。",
                "exclusive_area_dm2 must be above 0 and at most 1,000,000 (10,000 m²).");
        }
    }

    private static int NumberOf(string id) => int.TryParse(id.AsSpan(id.LastIndexOf('.') + 1), out int n) ? n : 0;

    private static string Number(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static HouseholdRecord Clone(HouseholdRecord h) => new()
    {
        Id = h.Id, Building = h.Building, Unit = h.Unit, Room = h.Room, AreaDm2 = h.AreaDm2, Occupancy = h.Occupancy, RepresentativeId = h.RepresentativeId,
    };

    private static ResidentRecord Clone(ResidentRecord r) => new()
    {
        Id = r.Id, HouseholdId = r.HouseholdId, Relation = r.Relation, Name = r.Name, Phone = r.Phone, AccountId = r.AccountId,
        Offline = r.Offline, Since = r.Since, Until = r.Until,
    };

    private static TerritoryRef ResidentRef(TerritoryNodeSnapshot courtyard, ResidentRecord resident) => new()
    {
        StreetId = courtyard.StreetId, CommunityId = courtyard.CommunityId, CourtyardId = courtyard.CourtyardId, HouseholdId = resident.HouseholdId,
    };

    private static HouseholdChanged HouseholdChangedEvent(TerritoryNodeSnapshot courtyard, HouseholdRecord household,
        IEnumerable<HouseholdChange> changes, long previousArea, DateTimeOffset at)
    {
        var changed = new HouseholdChanged
        {
            HouseholdId = household.Id,
            Ref = new TerritoryRef { StreetId = courtyard.StreetId, CommunityId = courtyard.CommunityId, CourtyardId = courtyard.CourtyardId, HouseholdId = household.Id },
            DoorLabel = household.Key.DoorLabel,
            Building = household.Building,
            Unit = household.Unit,
            Room = household.Room,
            ExclusiveAreaDm2 = household.AreaDm2,
            Occupancy = household.Occupancy,
            RepresentativeId = household.RepresentativeId,
            PreviousAreaDm2 = previousArea,
            At = Timestamp.FromDateTimeOffset(at),
        };
        changed.Changes.AddRange(changes);
        return changed;
    }

    private static ResidentJoined ResidentJoinedEvent(TerritoryNodeSnapshot courtyard, ResidentRecord resident) => new()
    {
        ResidentId = resident.Id, HouseholdId = resident.HouseholdId, Ref = ResidentRef(courtyard, resident), Relation = resident.Relation,
        DisplayName = resident.Name, Offline = resident.Offline, AccountId = resident.AccountId, Since = Timestamp.FromDateTimeOffset(resident.Since),
    };

    private static ResidentUpdated ResidentUpdatedEvent(TerritoryNodeSnapshot courtyard, ResidentRecord resident) => new()
    {
        ResidentId = resident.Id, HouseholdId = resident.HouseholdId, Ref = ResidentRef(courtyard, resident), Relation = resident.Relation,
        DisplayName = resident.Name, Offline = resident.Offline, AccountId = resident.AccountId,
    };
}
