using System.Security.Cryptography;
using Courtyard.Authorization.Claims;
using Courtyard.Common.V1;
using Courtyard.Directory.Accounts;
using Courtyard.Directory.Audit;
using Courtyard.Directory.Invitations;
using Courtyard.Directory.Roll;
using Courtyard.Directory.Territory;
using Courtyard.Directory.V1;
using Courtyard.ServiceDefaults;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using AuditStamp = Courtyard.Common.V1.Audit;
using DirectoryContract = Courtyard.Directory.V1.Directory;

namespace Courtyard.Directory.Grpc;

/// <summary>
/// The courtyard.directory.v1.Directory RPCs: translates between the contract and the grains. Who may call each RPC is
/// decided before it gets here (<see cref="DirectoryAccess"/>); refusals are <see cref="RequestRefusedException"/>s.
/// </summary>
public sealed class DirectoryService(
    IGrainFactory grains,
    AccountFlows accounts,
    InvitationSlips slips,
    IOptions<DirectoryOptions> options) : DirectoryContract.DirectoryBase
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;

    /// <summary>Slips carry a QR image each (about 1 KB): a page stays well under gRPC's 4 MB message limit.</summary>
    private const int DefaultSlipsPerCall = 100;
    private const int MaxSlipsPerCall = 500;

    // ---- Territory ----

    public override async Task<TerritoryNode> CreateTerritoryNode(CreateTerritoryNodeRequest request, ServerCallContext context)
    {
        string parent = request.ParentId.Length == 0 ? TerritoryNodeGrain.Root : request.ParentId;
        var child = await grains.GetGrain<ITerritoryNodeGrain>(parent).CreateChildAsync(new CreateChildCommand(
            request.RequestId, request.Level, request.Name?.ZhCn ?? "", request.Name?.En ?? "", request.AdminCode));
        return child.ToProto();
    }

    public override async Task<TerritoryNode> GetTerritoryNode(GetTerritoryNodeRequest request, ServerCallContext context) =>
        (await Node(request.Id)).ToProto();

    public override async Task<ListTerritoryChildrenResponse> ListTerritoryChildren(ListTerritoryChildrenRequest request, ServerCallContext context)
    {
        string parent = request.ParentId.Length == 0 ? TerritoryNodeGrain.Root : (await Node(request.ParentId)).Id;
        var children = await grains.GetGrain<ITerritoryNodeGrain>(parent).ListChildrenAsync();
        var (size, after) = Page(request.Page);
        var page = children.SkipWhile(c => after.Length > 0 && c.Id != after).Skip(after.Length > 0 ? 1 : 0).Take(size).ToArray();
        var response = new ListTerritoryChildrenResponse { Page = NextPage(page.Length == size ? page[^1].Id : "", children.Count) };
        response.Nodes.AddRange(page.Select(c => c.ToProto()));
        return response;
    }

    // ---- Roll ----

    public override async Task ImportRoll(ImportRollRequest request, IServerStreamWriter<ImportRollProgress> responseStream, ServerCallContext context)
    {
        Refusals.RequireRequestId(request.RequestId);
        var roll = grains.GetGrain<ICourtyardRollGrain>(request.CourtyardId);
        byte[] file = request.Csv.ToByteArray();
        var progress = new List<int>();
        var read = RollCsvReader.Read(file, progress.Add);
        foreach (int rows in progress)
        {
            await responseStream.WriteAsync(new ImportRollProgress { Phase = ImportRollProgress.Types.Phase.Reading, RowsDone = rows, RowsTotal = read.RowsRead });
        }
        if (read.Errors.Count > 0)
        {
            foreach (var chunk in read.Errors.Chunk(100))
            {
                var message = new ImportRollProgress { Phase = ImportRollProgress.Types.Phase.Rejected, RowsTotal = read.RowsRead };
                message.Errors.AddRange(chunk.Select(e => new ImportRowError
                {
                    Row = e.Row, Column = e.Column, Message = new LocalizedText { ZhCn = e.Chinese, En = e.English },
                }));
                await responseStream.WriteAsync(message);
            }
            throw RequestRefusedException.InvalidArgument(
                $"导入失败：{read.Errors.Count} 处有误（首处在第 {read.Errors[0].Row} 行），名册没有任何改动。请改正后重新导入整个文件。",
                $"Import refused: {read.Errors.Count} problem(s), the first in row {read.Errors[0].Row}. Nothing was changed; fix the file and import it again.");
        }
        await responseStream.WriteAsync(new ImportRollProgress { Phase = ImportRollProgress.Types.Phase.Saving, RowsDone = read.RowsRead, RowsTotal = read.RowsRead });
        var outcome = await roll.ImportAsync(new ImportCommand(request.RequestId, read.Rows, Convert.ToHexStringLower(SHA256.HashData(file)),
            request.DryRun, Caller(context).AccountId));
        await responseStream.WriteAsync(new ImportRollProgress
        {
            Phase = ImportRollProgress.Types.Phase.Done, RowsDone = read.RowsRead, RowsTotal = read.RowsRead, Summary = outcome.ToProto(),
        });
    }

    public override async Task<Household> RegisterHousehold(RegisterHouseholdRequest request, ServerCallContext context) =>
        (await grains.GetGrain<ICourtyardRollGrain>(request.CourtyardId).RegisterHouseholdAsync(new HouseholdCommand(
            request.RequestId, "", new HouseholdKey(request.Building.Trim(), request.Unit.Trim(), request.Room.Trim()),
            request.ExclusiveAreaDm2, request.Occupancy, "", Caller(context).AccountId))).ToProto();

    public override async Task<Household> UpdateHousehold(UpdateHouseholdRequest request, ServerCallContext context) =>
        (await Roll(request.HouseholdId).UpdateHouseholdAsync(new HouseholdCommand(
            request.RequestId, request.HouseholdId, default, request.ExclusiveAreaDm2, request.Occupancy, request.Reason, Caller(context).AccountId))).ToProto();

    public override async Task<Household> SetHouseholdRepresentative(SetHouseholdRepresentativeRequest request, ServerCallContext context) =>
        (await Roll(request.HouseholdId).SetRepresentativeAsync(request.RequestId, request.HouseholdId, request.ResidentId, Caller(context).AccountId)).ToProto();

    public override async Task<Household> GetHousehold(GetHouseholdRequest request, ServerCallContext context) =>
        (await Roll(request.HouseholdId).GetHouseholdAsync(request.HouseholdId) ?? throw Refusals.HouseholdNotFound(request.HouseholdId)).ToProto();

    public override async Task<ListHouseholdsResponse> ListHouseholds(ListHouseholdsRequest request, ServerCallContext context)
    {
        var (size, after) = Page(request.Page);
        var page = await grains.GetGrain<ICourtyardRollGrain>(request.CourtyardId).ListHouseholdsAsync(after, size);
        var response = new ListHouseholdsResponse { Page = NextPage(page.Count == size ? page[^1].Id : "", -1) };
        response.Households.AddRange(page.Select(h => h.ToProto()));
        return response;
    }

    public override async Task<Resident> RegisterResident(RegisterResidentRequest request, ServerCallContext context)
    {
        string phone = "";
        if (!string.IsNullOrWhiteSpace(request.Phone))
        {
            phone = Logins.NormalizePhone(request.Phone) ?? throw RequestRefusedException.InvalidArgument(
                "电话应为 11 位手机号。", "The phone must be an 11-digit mainland mobile number.");
        }
        var resident = await Roll(request.HouseholdId).RegisterResidentAsync(new ResidentCommand(
            request.RequestId, request.HouseholdId, request.Relation, request.DisplayName, phone, request.Offline, "", Caller(context).AccountId));
        return resident.ToProto(ShowsPhone(context, resident));
    }

    public override async Task<Resident> GetResident(GetResidentRequest request, ServerCallContext context)
    {
        var resident = await Roll(request.ResidentId).GetResidentAsync(request.ResidentId) ?? throw Refusals.ResidentNotFound(request.ResidentId);
        return resident.ToProto(ShowsPhone(context, resident));
    }

    public override async Task<ListResidentsResponse> ListResidents(ListResidentsRequest request, ServerCallContext context)
    {
        var (size, after) = Page(request.Page);
        var page = await grains.GetGrain<ICourtyardRollGrain>(request.CourtyardId).ListResidentsAsync(request.IncludeFormer, after, size);
        var response = new ListResidentsResponse { Page = NextPage(page.Count == size ? page[^1].Id : "", -1) };
        response.Residents.AddRange(page.Select(r => r.ToProto(ShowsPhone(context, r))));
        return response;
    }

    public override async Task<Resident> EndResidency(EndResidencyRequest request, ServerCallContext context)
    {
        var resident = await Roll(request.ResidentId).EndResidencyAsync(request.RequestId, request.ResidentId, Caller(context).AccountId);
        return resident.ToProto(ShowsPhone(context, resident));
    }

    // ---- Roles ----

    public override async Task<RoleGrant> GrantRole(GrantRoleRequest request, ServerCallContext context)
    {
        var scope = await Scope(request.ScopeId);
        var grant = await grains.GetGrain<ITerritoryNodeGrain>(scope.Id).GrantAsync(new GrantCommand(
            request.RequestId, request.AccountId, request.Role, request.OrganizationId, request.ValidUntil?.ToDateTimeOffset(), Caller(context).AccountId));
        return ToProto(grant, scope);
    }

    public override async Task<RoleGrant> RevokeRole(RevokeRoleRequest request, ServerCallContext context)
    {
        var scope = await Scope(DirectoryIds.ScopeOfGrant(request.RoleGrantId)
            ?? throw RequestRefusedException.NotFound($"找不到授权 {request.RoleGrantId}。", $"No role grant {request.RoleGrantId}."));
        var grant = await grains.GetGrain<ITerritoryNodeGrain>(scope.Id).RevokeAsync(new RevokeCommand(
            request.RequestId, request.RoleGrantId, request.Reason, Caller(context).AccountId));
        return ToProto(grant, scope);
    }

    public override async Task<ListRoleGrantsResponse> ListRoleGrants(ListRoleGrantsRequest request, ServerCallContext context)
    {
        var scope = await Scope(request.ScopeId);
        var grants = await grains.GetGrain<ITerritoryNodeGrain>(scope.Id).ListGrantsAsync(request.IncludeRevoked);
        var (size, after) = Page(request.Page);
        var page = grants.SkipWhile(g => after.Length > 0 && g.Id != after).Skip(after.Length > 0 ? 1 : 0).Take(size).ToArray();
        var response = new ListRoleGrantsResponse { Page = NextPage(page.Length == size ? page[^1].Id : "", grants.Count) };
        response.Grants.AddRange(page.Select(g => ToProto(g, scope)));
        return response;
    }

    // ---- Accounts, invitations, sign-in ----

    public override async Task<CreateInvitationsResponse> CreateInvitations(CreateInvitationsRequest request, ServerCallContext context)
    {
        Refusals.RequireRequestId(request.RequestId);
        var settings = options.Value.Invitations;
        int validDays = request.ValidDays == 0 ? settings.DefaultValidDays : request.ValidDays;
        if (validDays < 1 || validDays > settings.MaxValidDays)
        {
            throw RequestRefusedException.InvalidArgument($"有效期应为 1 到 {settings.MaxValidDays} 天。", $"valid_days must be between 1 and {settings.MaxValidDays}.");
        }
        if (request.HouseholdIds.Count > MaxSlipsPerCall)
        {
            throw RequestRefusedException.InvalidArgument($"一次最多打印 {MaxSlipsPerCall} 户的邀请。", $"At most {MaxSlipsPerCall} households per call.");
        }
        int size = request.Page?.PageSize is > 0 and var asked ? Math.Min(asked, MaxSlipsPerCall) : DefaultSlipsPerCall;
        var households = await grains.GetGrain<ICourtyardRollGrain>(request.CourtyardId)
            .InvitationTargetsAsync(request.HouseholdIds.ToArray(), request.Page?.PageToken ?? "", size);
        string actor = Caller(context).AccountId;
        var response = new CreateInvitationsResponse
        {
            Page = NextPage(request.HouseholdIds.Count == 0 && households.Count == size ? households[^1].Id : "", -1),
        };
        foreach (var household in households)
        {
            response.Slips.Add(await slips.IssueAsync(household, validDays, actor));
        }
        return response;
    }

    public override Task<RedeemInvitationResponse> RedeemInvitation(RedeemInvitationRequest request, ServerCallContext context) =>
        accounts.RedeemAsync(request, Client(context));

    public override Task<CreatedAccount> CreateResidentAccount(CreateResidentAccountRequest request, ServerCallContext context) =>
        accounts.CreateForResidentAsync(request, Caller(context).AccountId);

    public override async Task<CreatedAccount> CreateStaffAccount(CreateStaffAccountRequest request, ServerCallContext context)
    {
        await Scope(request.ScopeId);
        return await accounts.CreateStaffAsync(request, Caller(context).AccountId);
    }

    public override Task<TokenResponse> SignIn(SignInRequest request, ServerCallContext context) =>
        accounts.SignInAsync(request, Client(context));

    public override Task<TokenResponse> RefreshToken(RefreshTokenRequest request, ServerCallContext context) =>
        accounts.RefreshAsync(request.RefreshToken);

    public override async Task<SignOutResponse> SignOut(SignOutRequest request, ServerCallContext context)
    {
        await accounts.SignOutAsync(request.RefreshToken);
        return new SignOutResponse();
    }

    public override async Task<ChangePasswordResponse> ChangePassword(ChangePasswordRequest request, ServerCallContext context)
    {
        Passwords.RequireAcceptable(request.NewPassword);
        await grains.GetGrain<IAccountGrain>(Caller(context).AccountId).ChangePasswordAsync(request.RequestId, request.CurrentPassword, Passwords.Hash(request.NewPassword));
        return new ChangePasswordResponse();
    }

    public override async Task<WhoAmIResponse> WhoAmI(WhoAmIRequest request, ServerCallContext context)
    {
        var caller = Caller(context);
        var profile = await grains.GetGrain<IAccountGrain>(caller.AccountId).GetProfileAsync();
        var response = new WhoAmIResponse { AccountId = profile.AccountId, Login = profile.Login, DisplayName = profile.DisplayName };
        foreach (string residentId in profile.ResidentIds)
        {
            if (await Roll(residentId).GetResidentAsync(residentId) is { Until: null } resident)
            {
                response.Residencies.Add(resident.ToProto(showPhone: true));
            }
        }
        foreach (string scopeId in profile.GrantScopes)
        {
            var node = grains.GetGrain<ITerritoryNodeGrain>(scopeId);
            var scope = scopeId == TerritoryNodeGrain.Root ? null : await node.GetAsync();
            response.Grants.AddRange((await node.ActiveGrantsOfAsync(caller.AccountId)).Select(g => ToProto(g, scope)));
        }
        return response;
    }

    // ---- Audit ----

    public override async Task<ListAuditEntriesResponse> ListAuditEntries(ListAuditEntriesRequest request, ServerCallContext context)
    {
        int max = request.MaxEntries <= 0 ? 100 : Math.Min(request.MaxEntries, 1_000);
        var chain = grains.GetGrain<IAuditChainGrain>(ChainId(request.ChainId));
        var entries = await chain.ListAsync(Math.Max(1, request.FromSequence), max);
        var response = new ListAuditEntriesResponse { LastSequence = entries.Count > 0 ? entries[^1].Sequence : 0 };
        response.Entries.AddRange(entries.Select(e => e.ToProto()));
        return response;
    }

    public override async Task<VerifyAuditLogResponse> VerifyAuditLog(VerifyAuditLogRequest request, ServerCallContext context)
    {
        var result = await grains.GetGrain<IAuditChainGrain>(ChainId(request.ChainId))
            .VerifyAsync(request.Anchors.Select(a => new AuditAnchorValue(a.Sequence, a.Hash)).ToArray());
        var response = new VerifyAuditLogResponse
        {
            Intact = result.Problems.Count == 0,
            EntriesChecked = result.EntriesChecked,
            Head = new AuditAnchor { Sequence = result.HeadSequence, Hash = result.HeadHash },
        };
        response.Findings.AddRange(result.Problems.Select(p => new AuditFinding
        {
            Kind = p.Kind, Sequence = p.Sequence, StoredPosition = p.StoredPosition, Message = new LocalizedText { ZhCn = p.Chinese, En = p.English },
        }));
        return response;
    }

    // ---- Helpers ----

    private static CourtyardCaller Caller(ServerCallContext context) => context.GetHttpContext().User.GetCourtyardCaller();

    private static string Client(ServerCallContext context) =>
        context.GetHttpContext().Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>The courtyard's own committee and the resident themself see the phone; everyone else sees it masked.</summary>
    private static bool ShowsPhone(ServerCallContext context, ResidentSnapshot resident)
    {
        var caller = Caller(context);
        string courtyard = resident.Courtyard.Id;
        return caller.ResidentIds.Contains(resident.Id)
            || caller.Holds(Role.CommitteeMember, courtyard)
            || caller.Holds(Role.CommitteeChair, courtyard);
    }

    private ICourtyardRollGrain Roll(string rollId) =>
        grains.GetGrain<ICourtyardRollGrain>(DirectoryIds.CourtyardOfRollId(rollId)
            ?? throw RequestRefusedException.NotFound($"找不到 {rollId}。", $"No household or resident {rollId}."));

    private async Task<TerritoryNodeSnapshot> Node(string id)
    {
        if (DirectoryIds.LevelOf(id) is null)
        {
            throw Refusals.NodeNotFound(id);
        }
        return await grains.GetGrain<ITerritoryNodeGrain>(id).GetAsync() ?? throw Refusals.NodeNotFound(id);
    }

    /// <summary>A grant scope: a street, community or courtyard, or the platform (for platform admins).</summary>
    private async Task<TerritoryNodeSnapshot> Scope(string scopeId) =>
        scopeId == TerritoryNodeGrain.Root
            ? new TerritoryNodeSnapshot(TerritoryNodeGrain.Root, TerritoryLevel.Unspecified, "", "", "", "平台", "Platform", "")
            : await Node(scopeId);

    private static string ChainId(string chainId) =>
        chainId == DirectoryIds.PlatformChain || DirectoryIds.LevelOf(chainId) is not null ? chainId
        : throw RequestRefusedException.InvalidArgument("chain_id 应为街道、社区或院落的编号，或 platform。", "chain_id must be a street, community or courtyard id, or \"platform\".");

    private static RoleGrant ToProto(RoleGrantRecord grant, TerritoryNodeSnapshot? scope) => new()
    {
        Id = grant.Id,
        AccountId = grant.AccountId,
        Role = grant.Role,
        Scope = scope is null || scope.Id == TerritoryNodeGrain.Root ? new TerritoryRef() : scope.ToRef(),
        OrganizationId = grant.OrganizationId,
        ValidFrom = Timestamp.FromDateTimeOffset(grant.ValidFrom),
        ValidUntil = grant.ValidUntil is { } until ? Timestamp.FromDateTimeOffset(until) : null,
        Granted = new AuditStamp { RecordedById = grant.GrantedBy, At = Timestamp.FromDateTimeOffset(grant.ValidFrom), RequestId = grant.GrantRequestId },
        Revoked = grant.RevokedAt is { } revoked
            ? new AuditStamp { RecordedById = grant.RevokedBy, At = Timestamp.FromDateTimeOffset(revoked), RequestId = grant.RevokeRequestId }
            : null,
        RevokeReason = grant.RevokeReason,
    };

    private static (int Size, string After) Page(PageRequest? page)
    {
        int size = page?.PageSize ?? 0;
        return (size <= 0 ? DefaultPageSize : Math.Min(size, MaxPageSize), page?.PageToken ?? "");
    }

    private static PageResponse NextPage(string lastId, long total) => new() { NextPageToken = lastId, TotalSize = total };
}
