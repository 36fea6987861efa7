using Courtyard.Authorization.Claims;
using Courtyard.Directory.Tests.Support;
using Courtyard.Directory.V1;
using Courtyard.Testing.Authorization;
using Courtyard.Testing.Services;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Courtyard.Directory.Tests.Roles;

public abstract class RoleAndPrivacyTests(TestStorage storage) : DirectoryScenario(storage)
{
    public sealed class OnSqlite() : RoleAndPrivacyTests(TestStorage.Sqlite);

    public sealed class OnPostgres() : RoleAndPrivacyTests(TestStorage.Postgres);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Host.Client().ImportAsync(Admin, Territory.OwnCourtyardId, RollFiles.Utf8("""
            楼栋,单元,房号,面积,业主/租户,姓名,电话
            3,2,501,89.57,业主,王秀英,13800138000
            3,2,502,102.3,业主,李建国,13900139000
            """));
    }

    private async Task<(CreatedAccount Account, Resident Resident)> ResidentAccountAsync(string name)
    {
        var resident = (await Host.Client().AllResidentsAsync(Admin, Territory.OwnCourtyardId)).Single(r => r.DisplayName == name);
        var account = await Host.Client().CreateResidentAccountAsync(new CreateResidentAccountRequest
        {
            RequestId = Calls.NewRequestId(), ResidentId = resident.Id,
        }, AdminHeaders);
        return (account, resident);
    }

    [Fact]
    public async Task A_granted_role_reaches_the_next_token_and_a_revoked_one_is_gone_at_the_next_refresh()
    {
        var (chair, _) = await ResidentAccountAsync("李建国");
        var grant = await Host.Client().GrantRoleAsync(new GrantRoleRequest
        {
            RequestId = Calls.NewRequestId(), AccountId = chair.AccountId, Role = Role.CommitteeChair, ScopeId = Territory.OwnCourtyardId,
        }, AdminHeaders);
        var tokens = await Host.Client().SignInAsync(new SignInRequest { Login = chair.Login, Password = chair.InitialPassword });

        Assert.Contains(new JsonWebToken(tokens.AccessToken).Claims, c => c.Type == "cy_grant" && c.Value == $"committee_chair@{Territory.OwnCourtyardId}");
        var listed = await Host.Client().ListRoleGrantsAsync(new ListRoleGrantsRequest { ScopeId = Territory.OwnCourtyardId }, DirectoryTestHost.Bearer(tokens.AccessToken));
        Assert.Contains(listed.Grants, g => g.Id == grant.Id && g.Scope.CommunityId == Territory.CommunityId);

        await Host.Client().RevokeRoleAsync(new RevokeRoleRequest { RequestId = Calls.NewRequestId(), RoleGrantId = grant.Id, Reason = "任期届满" },
            AdminHeaders);
        var refreshed = await Host.Client().RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = tokens.RefreshToken });

        Assert.DoesNotContain(new JsonWebToken(refreshed.AccessToken).Claims, c => c.Value.StartsWith("committee_chair@", StringComparison.Ordinal));
        var refused = await Assert.ThrowsAsync<RpcException>(() => Host.Client().ListRoleGrantsAsync(
            new ListRoleGrantsRequest { ScopeId = Territory.OwnCourtyardId }, DirectoryTestHost.Bearer(refreshed.AccessToken)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.StartsWith("无权操作", refused.Status.Detail);
        var events = (await Host.CommittedEventsAsync()).Where(e => e.CourtyardId == Territory.OwnCourtyardId).Select(e => e.EventType).ToArray();
        Assert.Contains("courtyard.directory.role_granted.v1", events);
        Assert.Contains("courtyard.directory.role_revoked.v1", events);
        var audit = await Host.AuditEntriesAsync(Territory.OwnCourtyardId, AdminHeaders);
        Assert.Contains(audit.Entries, e => e.Kind == AuditKind.RoleRevoked && e.SubjectId == grant.Id && e.Details["reason"] == "任期届满");
    }

    [Fact]
    public async Task A_chair_of_one_courtyard_cannot_grant_roles_in_another_and_roles_only_fit_their_level()
    {
        var (chair, _) = await ResidentAccountAsync("李建国");
        string chairToken = Host.Tokens.Mint(chair.AccountId, [new GrantClaim(Role.CommitteeChair, Territory.OwnCourtyardId)]);

        var elsewhere = await Assert.ThrowsAsync<RpcException>(() => Host.Client().GrantRoleAsync(new GrantRoleRequest
        {
            RequestId = Calls.NewRequestId(), AccountId = chair.AccountId, Role = Role.Volunteer, ScopeId = Territory.SiblingCourtyardId,
        }, DirectoryTestHost.Bearer(chairToken)).ResponseAsync);
        var wrongLevel = await Assert.ThrowsAsync<RpcException>(() => Host.Client().GrantRoleAsync(new GrantRoleRequest
        {
            RequestId = Calls.NewRequestId(), AccountId = chair.AccountId, Role = Role.StreetOfficial, ScopeId = Territory.OwnCourtyardId,
        }, DirectoryTestHost.Bearer(chairToken)).ResponseAsync);
        var fromRoll = await Assert.ThrowsAsync<RpcException>(() => Host.Client().GrantRoleAsync(new GrantRoleRequest
        {
            RequestId = Calls.NewRequestId(), AccountId = chair.AccountId, Role = Role.Resident, ScopeId = Territory.OwnCourtyardId,
        }, DirectoryTestHost.Bearer(chairToken)).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, elsewhere.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, wrongLevel.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, fromRoll.StatusCode);
        Assert.Contains("由名册决定", fromRoll.Status.Detail);
    }

    [Fact]
    public async Task Phones_are_shown_only_to_the_courtyards_committee_and_the_resident_themself()
    {
        var (account, resident) = await ResidentAccountAsync("王秀英");
        string committee = Host.Tokens.Mint("ac_member", [new GrantClaim(Role.CommitteeMember, Territory.OwnCourtyardId)]);
        string socialWorker = Host.Tokens.Mint("ac_worker", [new GrantClaim(Role.SocialWorker, Territory.CommunityId)]);
        string official = Host.Tokens.Mint("ac_official", [new GrantClaim(Role.StreetOfficial, Territory.StreetId)]);
        string neighbourCommittee = Host.Tokens.Mint("ac_neighbour", [new GrantClaim(Role.CommitteeChair, Territory.SiblingCourtyardId)]);
        Assert.Equal("13800138000", account.Login);
        string self = await Host.SignInAsync(account.Login, account.InitialPassword);

        Assert.Equal("13800138000", await PhoneSeenBy(committee, resident.Id));
        Assert.Equal("138****8000", await PhoneSeenBy(socialWorker, resident.Id));
        Assert.Equal("138****8000", await PhoneSeenBy(official, resident.Id));
        Assert.Equal("13800138000", await PhoneSeenBy(self, resident.Id));
        var neighbour = await Assert.ThrowsAsync<RpcException>(() => PhoneSeenBy(neighbourCommittee, resident.Id));
        Assert.Equal(StatusCode.PermissionDenied, neighbour.StatusCode);
        var listed = await Host.Client().ListResidentsAsync(new ListResidentsRequest { CourtyardId = Territory.OwnCourtyardId }, DirectoryTestHost.Bearer(socialWorker));
        Assert.Equal(2, listed.Residents.Count);
        Assert.All(listed.Residents, r => Assert.Contains("****", r.Phone));
    }

    private async Task<string> PhoneSeenBy(string token, string residentId) =>
        (await Host.Client().GetResidentAsync(new GetResidentRequest { ResidentId = residentId }, DirectoryTestHost.Bearer(token))).Phone;
}
