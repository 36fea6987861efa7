using Courtyard.Authorization.Claims;
using Courtyard.Common.V1;
using Courtyard.Directory.Accounts;
using Courtyard.Directory.Audit;
using Courtyard.Directory.V1;
using Courtyard.Events;
using Courtyard.ServiceDefaults;
using Google.Protobuf.WellKnownTypes;

namespace Courtyard.Directory.Territory;

[GenerateSerializer, Immutable]
public sealed record CreateChildCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] TerritoryLevel Level,
    [property: Id(2)] string NameZh,
    [property: Id(3)] string NameEn,
    [property: Id(4)] string AdminCode);

[GenerateSerializer, Immutable]
public sealed record GrantCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string AccountId,
    [property: Id(2)] Role Role,
    [property: Id(3)] string OrganizationId,
    [property: Id(4)] DateTimeOffset? ValidUntil,
    [property: Id(5)] string ActorId);

[GenerateSerializer, Immutable]
public sealed record RevokeCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string GrantId,
    [property: Id(2)] string Reason,
    [property: Id(3)] string ActorId);

/// <summary>A street, community or courtyard, keyed by its id; the root ("platform") lists the streets and holds platform admins.</summary>
public interface ITerritoryNodeGrain : IGrainWithStringKey
{
    /// <summary>The node, or null when no node has this id.</summary>
    Task<TerritoryNodeSnapshot?> GetAsync();

    /// <summary>Creates a child one level down (the root creates streets). A retried request returns the same child.</summary>
    Task<TerritoryNodeSnapshot> CreateChildAsync(CreateChildCommand command);

    /// <summary>Called by the parent on the new child's grain: records the node once (later calls return it unchanged).</summary>
    Task<TerritoryNodeSnapshot> EstablishAsync(TerritoryNodeSnapshot node);

    Task<IReadOnlyList<TerritoryNodeSnapshot>> ListChildrenAsync();

    Task<RoleGrantRecord> GrantAsync(GrantCommand command);
    Task<RoleGrantRecord> RevokeAsync(RevokeCommand command);
    Task<IReadOnlyList<RoleGrantRecord>> ListGrantsAsync(bool includeRevoked);
    Task<IReadOnlyList<RoleGrantRecord>> ActiveGrantsOfAsync(string accountId);
}

[GrainType("directory.territory_node")]
internal sealed class TerritoryNodeGrain(
    [PersistentState("territory_node", DirectoryOptions.ServiceName)] IPersistentState<TerritoryNodeState> state,
    [FromKeyedServices(DirectoryOptions.ServiceName)] TimeProvider time) : Grain, ITerritoryNodeGrain
{
    /// <summary>The root's key: its children are the streets; platform admins are granted here.</summary>
    public const string Root = DirectoryIds.PlatformChain;

    /// <summary>Where each grantable role may be scoped. Resident and household representative follow from the roll.</summary>
    private static readonly Dictionary<Role, TerritoryLevel[]> GrantableAt = new()
    {
        [Role.CommitteeMember] = [TerritoryLevel.Courtyard],
        [Role.CommitteeChair] = [TerritoryLevel.Courtyard],
        [Role.Mediator] = [TerritoryLevel.Courtyard],
        [Role.Volunteer] = [TerritoryLevel.Courtyard, TerritoryLevel.Community],
        [Role.SocialWorker] = [TerritoryLevel.Community],
        [Role.OrganizationMember] = [TerritoryLevel.Community, TerritoryLevel.Street],
        [Role.CommunityOfficial] = [TerritoryLevel.Community],
        [Role.StreetOfficial] = [TerritoryLevel.Street],
        [Role.PlatformAdmin] = [TerritoryLevel.Unspecified],
    };

    private TerritoryNodeState State => state.State;
    private string Key => this.GetPrimaryKeyString();
    private bool IsRoot => Key == Root;

    /// <summary>The root exists without being created; every other node once its parent established it.</summary>
    private TerritoryNodeSnapshot? Node => IsRoot
        ? new TerritoryNodeSnapshot(Root, TerritoryLevel.Unspecified, "", "", "", "平台", "Platform", "")
        : State.Node;

    public Task<TerritoryNodeSnapshot?> GetAsync() => Task.FromResult(IsRoot ? null : State.Node);

    public Task<IReadOnlyList<TerritoryNodeSnapshot>> ListChildrenAsync() =>
        Task.FromResult<IReadOnlyList<TerritoryNodeSnapshot>>(State.Children.ToArray());

    public async Task<TerritoryNodeSnapshot> CreateChildAsync(CreateChildCommand command)
    {
        var node = Node ?? throw Refusals.NodeNotFound(Key);
        Refusals.RequireRequestId(command.RequestId);
        var (level, prefix) = node.Level switch
        {
            TerritoryLevel.Unspecified => (TerritoryLevel.Street, DirectoryIds.Street),
            TerritoryLevel.Street => (TerritoryLevel.Community, DirectoryIds.Community),
            TerritoryLevel.Community => (TerritoryLevel.Courtyard, DirectoryIds.Courtyard),
            _ => throw RequestRefusedException.InvalidArgument(
                "院落下的楼栋、单元和住户由名册导入或登记，不在这里创建。",
                "Buildings, units and households of a courtyard come from its roll (ImportRoll, RegisterHousehold)."),
        };
        if (command.Level != level)
        {
            throw RequestRefusedException.InvalidArgument(
                $"{LevelName(node.Level)}下只能创建{LevelName(level)}。",
                $"Under {(IsRoot ? "the platform" : node.Id)} only a {level.ToString().ToLowerInvariant()} can be created.");
        }
        string nameZh = Refusals.RequireName(command.NameZh, "名称", "name");
        string childId = DirectoryIds.NewTerritoryNode(prefix, Key, command.RequestId);
        var existing = State.Children.FirstOrDefault(c => c.Id == childId);
        if (existing is not null)
        {
            return existing;
        }
        if (State.Children.Any(c => c.NameZh == nameZh))
        {
            throw RequestRefusedException.AlreadyExists($"{LevelName(node.Level)}下已有名为“{nameZh}”的{LevelName(level)}。",
                $"There is already a {level.ToString().ToLowerInvariant()} named \"{nameZh}\" here.");
        }
        var child = new TerritoryNodeSnapshot(
            childId, level,
            StreetId: level == TerritoryLevel.Street ? childId : node.StreetId,
            CommunityId: level == TerritoryLevel.Community ? childId : node.CommunityId,
            CourtyardId: level == TerritoryLevel.Courtyard ? childId : "",
            nameZh, (command.NameEn ?? "").Trim(), (command.AdminCode ?? "").Trim());
        // The child first: if this grain fails before its own write, the retried request (same id) finds the child again.
        child = await GrainFactory.GetGrain<ITerritoryNodeGrain>(childId).EstablishAsync(child);
        State.Children.Add(child);
        await state.WriteStateAsync();
        return child;
    }

    public async Task<TerritoryNodeSnapshot> EstablishAsync(TerritoryNodeSnapshot node)
    {
        if (State.Node is { } existing)
        {
            return existing;
        }
        if (node.Id != Key)
        {
            throw new ArgumentException($"Node {node.Id} cannot be established on grain {Key}.", nameof(node));
        }
        State.Node = node;
        State.Raise(node.CourtyardId is { Length: > 0 } courtyard ? courtyard : node.Id, new TerritoryNodeCreated
        {
            NodeId = node.Id,
            Level = node.Level,
            Ref = node.ToRef(),
            Name = new LocalizedText { ZhCn = node.NameZh, En = node.NameEn },
        });
        await state.WriteStateAsync();
        return node;
    }

    public async Task<RoleGrantRecord> GrantAsync(GrantCommand command)
    {
        var node = Node ?? throw Refusals.NodeNotFound(Key);
        Refusals.RequireRequestId(command.RequestId);
        if (State.Requests.TryGet(command.RequestId, out string handled))
        {
            return State.Grants.Single(g => g.Id == handled).Copy();
        }
        if (command.Role is Role.Resident or Role.HouseholdRepresentative)
        {
            throw RequestRefusedException.InvalidArgument("居民和户代表身份由名册决定，不能单独授予。",
                "Resident and household representative follow from the roll; they are not granted.");
        }
        if (!GrantableAt.TryGetValue(command.Role, out var levels) || !levels.Contains(node.Level))
        {
            throw RequestRefusedException.InvalidArgument(
                $"{RoleNames.Chinese(command.Role)}不能授予在{LevelName(node.Level)}一级。",
                $"The role {command.Role} cannot be granted at the level of {(IsRoot ? "the platform" : node.Id)}.");
        }
        var now = time.GetUtcNow();
        if (command.ValidUntil is { } until && until <= now)
        {
            throw RequestRefusedException.InvalidArgument("任期结束时间必须在将来。", "valid_until must be in the future.");
        }
        var account = GrainFactory.GetGrain<IAccountGrain>(command.AccountId);
        if (!await account.ExistsAsync())
        {
            throw Refusals.AccountNotFound(command.AccountId);
        }
        var same = State.Grants.FirstOrDefault(g => g.AccountId == command.AccountId && g.Role == command.Role
            && g.OrganizationId == (command.OrganizationId ?? "") && g.IsActive(now));
        if (same is not null)
        {
            return same.Copy();
        }
        // The account's list of scopes to read grants from is a superset: noted before the grant exists.
        await account.NoteGrantScopeAsync(Key);
        var grant = new RoleGrantRecord
        {
            Id = DirectoryIds.GrantOf(Key, ++State.LastGrantNumber),
            AccountId = command.AccountId,
            Role = command.Role,
            OrganizationId = command.OrganizationId ?? "",
            ValidFrom = now,
            ValidUntil = command.ValidUntil,
            GrantedBy = command.ActorId,
            GrantRequestId = command.RequestId,
        };
        State.Grants.Add(grant);
        State.Requests.Add(command.RequestId, grant.Id);
        State.Raise(Subject(node), new RoleGranted
        {
            RoleGrantId = grant.Id,
            AccountId = grant.AccountId,
            Role = grant.Role,
            Scope = node.ToRef(),
            OrganizationId = grant.OrganizationId,
            ValidFrom = Timestamp.FromDateTimeOffset(grant.ValidFrom),
            ValidUntil = grant.ValidUntil is { } end ? Timestamp.FromDateTimeOffset(end) : null,
        });
        Audit(AuditKind.RoleGranted, command.ActorId, grant);
        await state.WriteStateAsync();
        return grant.Copy();
    }

    public async Task<RoleGrantRecord> RevokeAsync(RevokeCommand command)
    {
        var node = Node ?? throw Refusals.NodeNotFound(Key);
        Refusals.RequireRequestId(command.RequestId);
        var grant = State.Grants.FirstOrDefault(g => g.Id == command.GrantId)
            ?? throw RequestRefusedException.NotFound($"找不到授权 {command.GrantId}。", $"No role grant {command.GrantId}.");
        if (grant.RevokedAt is not null)
        {
            return grant.Copy();
        }
        grant.RevokedAt = time.GetUtcNow();
        grant.RevokedBy = command.ActorId;
        grant.RevokeReason = (command.Reason ?? "").Trim();
        grant.RevokeRequestId = command.RequestId;
        State.Raise(Subject(node), new RoleRevoked
        {
            RoleGrantId = grant.Id,
            AccountId = grant.AccountId,
            Role = grant.Role,
            Scope = node.ToRef(),
            At = Timestamp.FromDateTimeOffset(grant.RevokedAt.Value),
        });
        Audit(AuditKind.RoleRevoked, command.ActorId, grant);
        await state.WriteStateAsync();
        return grant.Copy();
    }

    public Task<IReadOnlyList<RoleGrantRecord>> ListGrantsAsync(bool includeRevoked)
    {
        var now = time.GetUtcNow();
        return Task.FromResult<IReadOnlyList<RoleGrantRecord>>(State.Grants
            .Where(g => includeRevoked || g.IsActive(now))
            .Select(g => g.Copy())
            .ToArray());
    }

    public Task<IReadOnlyList<RoleGrantRecord>> ActiveGrantsOfAsync(string accountId)
    {
        var now = time.GetUtcNow();
        return Task.FromResult<IReadOnlyList<RoleGrantRecord>>(State.Grants
            .Where(g => g.AccountId == accountId && g.IsActive(now))
            .Select(g => g.Copy())
            .ToArray());
    }

    /// <summary>Events and audit entries of a courtyard go to the courtyard; those of a wider scope to that scope.</summary>
    private static string Subject(TerritoryNodeSnapshot node) => node.Id;

    /// <summary>Records the grant's change in this node's audit chain with the next state write (the same transaction).</summary>
    private void Audit(AuditKind kind, string actorId, RoleGrantRecord grant) =>
        State.RecordAudit(Key, new AuditFact(kind, actorId, grant.Id, new Dictionary<string, string>
        {
            ["account_id"] = grant.AccountId,
            ["role"] = RoleNames.Of(grant.Role),
            ["scope_id"] = Key,
            ["reason"] = grant.RevokeReason,
        }), time.GetUtcNow());

    private static string LevelName(TerritoryLevel level) => level switch
    {
        TerritoryLevel.Street => "街道",
        TerritoryLevel.Community => "社区",
        TerritoryLevel.Courtyard => "院落",
        _ => "平台",
    };
}
