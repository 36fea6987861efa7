using System.Security.Cryptography;
using System.Text;
using Courtyard.Directory.Audit;
using Courtyard.Directory.Invitations;
using Courtyard.Directory.Roll;
using Courtyard.Directory.Tokens;
using Courtyard.Directory.V1;
using Courtyard.ServiceDefaults;
using Grpc.Core;

namespace Courtyard.Directory.Accounts;

/// <summary>
/// The account journeys that span several grains: redeeming an invitation, the committee creating an account for a
/// resident, staff accounts, sign-in. Each step is idempotent under the request's id (account ids are derived from it),
/// so a retried request finishes what a failed one started instead of doing it twice.
/// </summary>
public sealed class AccountFlows(IGrainFactory grains, AccessTokenIssuer tokens, ClientThrottle throttle)
{
    public async Task<RedeemInvitationResponse> RedeemAsync(RedeemInvitationRequest request, string client)
    {
        Refusals.RequireRequestId(request.RequestId);
        throttle.RequireAllowance(client);
        InvitationTarget target;
        try
        {
            var code = InvitationCode.Parse(request.Code) ?? throw InvitationGrain.Invalid();
            target = await grains.GetGrain<IInvitationGrain>(code.LookupId).ClaimAsync(code.Secret, request.RequestId);
        }
        catch (RequestRefusedException)
        {
            throttle.RecordFailure(client);
            throw;
        }
        var invitation = grains.GetGrain<IInvitationGrain>(InvitationCode.Parse(request.Code)!.LookupId);
        try
        {
            return await JoinAsync(request, target, invitation, client);
        }
        catch (RequestRefusedException)
        {
            // Nothing was redeemed: the person may correct the form and try again with the same code.
            await invitation.ReleaseAsync(request.RequestId);
            throw;
        }
    }

    private async Task<RedeemInvitationResponse> JoinAsync(RedeemInvitationRequest request, InvitationTarget target, IInvitationGrain invitation, string client)
    {
        string login = Logins.Require(request.Login);
        string name = Refusals.RequireName(request.DisplayName, "姓名", "name", 50);
        var loginGrain = grains.GetGrain<ILoginGrain>(login);
        string accountId = AccountIdFor(request.RequestId, login);
        string owner = await loginGrain.GetAccountAsync() ?? "";
        SignedIn signedIn;
        if (owner.Length == 0 || (owner == accountId && !await grains.GetGrain<IAccountGrain>(owner).ExistsAsync()))
        {
            Passwords.RequireAcceptable(request.Password);
            owner = await loginGrain.ClaimAsync(accountId);
        }
        var account = grains.GetGrain<IAccountGrain>(owner);
        if (owner == accountId && !await account.ExistsAsync())
        {
            await account.CreateAsync(new CreateAccountCommand(request.RequestId, login, name, Passwords.Hash(request.Password), "", target.CourtyardId));
        }
        try
        {
            // A new account signs in with the password just set; an existing login must prove it is theirs.
            signedIn = await account.SignInAsync(request.Password);
        }
        catch (RequestRefusedException e) when (e.Code == StatusCode.Unauthenticated)
        {
            throttle.RecordFailure(client);
            throw new RequestRefusedException(StatusCode.Unauthenticated,
                "这个手机号已经注册过，请输入它的密码，将本户加入该账号。", "This login already has an account: enter its password to add this household to it.");
        }
        var resident = await grains.GetGrain<ICourtyardRollGrain>(target.CourtyardId).JoinAsync(new JoinCommand(
            request.RequestId, target.HouseholdId, Logins.NormalizePhone(login) ?? "", name, request.Relation, owner));
        await account.LinkResidentAsync(resident.Id, target.CourtyardId);
        await invitation.CompleteAsync(request.RequestId, owner);
        // The token is issued after the residency is linked, so it already says where the person lives.
        return new RedeemInvitationResponse
        {
            Resident = resident.ToProto(showPhone: true),
            Tokens = await tokens.IssueAsync(signedIn with { Profile = await account.GetProfileAsync() }),
        };
    }

    public async Task<CreatedAccount> CreateForResidentAsync(CreateResidentAccountRequest request, string actorId)
    {
        Refusals.RequireRequestId(request.RequestId);
        string courtyardId = DirectoryIds.CourtyardOfRollId(request.ResidentId) ?? throw Refusals.ResidentNotFound(request.ResidentId);
        var roll = grains.GetGrain<ICourtyardRollGrain>(courtyardId);
        var resident = await roll.GetResidentAsync(request.ResidentId) ?? throw Refusals.ResidentNotFound(request.ResidentId);
        if (!resident.IsCurrent())
        {
            throw RequestRefusedException.FailedPrecondition("该居民已迁出。", $"Resident {resident.Id} has moved out.");
        }
        string password = Passwords.Generate();
        string accountId = resident.AccountId.Length > 0 ? resident.AccountId : AccountIdFor(request.RequestId, resident.Id);
        var account = grains.GetGrain<IAccountGrain>(accountId);
        string login;
        if (await account.ExistsAsync())
        {
            // Only the request that created it may hand out a fresh password (its first answer was lost).
            await account.ResetPasswordAsync(request.RequestId, Passwords.Hash(password));
            login = (await account.GetProfileAsync()).Login;
        }
        else
        {
            login = await ClaimLoginAsync(accountId, request.RequestId, Logins.NormalizePhone(resident.Phone));
            await account.CreateAsync(new CreateAccountCommand(request.RequestId, login, resident.Name, Passwords.Hash(password), actorId, courtyardId,
                new AuditFact(AuditKind.AccountCreatedOnBehalf, actorId, accountId,
                    new Dictionary<string, string> { ["resident_id"] = resident.Id, ["login"] = Logins.MaskLogin(login) })));
        }
        await account.LinkResidentAsync(resident.Id, courtyardId);
        await roll.LinkAccountAsync(resident.Id, accountId);
        return new CreatedAccount { AccountId = accountId, Login = login, InitialPassword = password };
    }

    public async Task<CreatedAccount> CreateStaffAsync(CreateStaffAccountRequest request, string actorId)
    {
        Refusals.RequireRequestId(request.RequestId);
        string login = Logins.Require(request.Login);
        string name = Refusals.RequireName(request.DisplayName, "姓名", "name", 50);
        string accountId = AccountIdFor(request.RequestId, login);
        string owner = await grains.GetGrain<ILoginGrain>(login).ClaimAsync(accountId);
        if (owner != accountId)
        {
            throw RequestRefusedException.AlreadyExists($"登录名 {login} 已被使用。", $"The login {login} is taken.");
        }
        string password = Passwords.Generate();
        var account = grains.GetGrain<IAccountGrain>(accountId);
        if (await account.ExistsAsync())
        {
            await account.ResetPasswordAsync(request.RequestId, Passwords.Hash(password));
        }
        else
        {
            string chain = string.IsNullOrEmpty(request.ScopeId) ? DirectoryIds.PlatformChain : request.ScopeId;
            await account.CreateAsync(new CreateAccountCommand(request.RequestId, login, name, Passwords.Hash(password), actorId, chain,
                new AuditFact(AuditKind.AccountCreatedOnBehalf, actorId, accountId,
                    new Dictionary<string, string> { ["login"] = Logins.MaskLogin(login), ["staff"] = "true" })));
        }
        return new CreatedAccount { AccountId = accountId, Login = login, InitialPassword = password };
    }

    public async Task<TokenResponse> SignInAsync(SignInRequest request, string client)
    {
        throttle.RequireAllowance(client);
        string? login = Logins.Normalize(request.Login);
        string? accountId = login is null ? null : await grains.GetGrain<ILoginGrain>(login).GetAccountAsync();
        if (accountId is null)
        {
            // As slow as a real check, so a login's existence cannot be timed.
            Passwords.VerifyDecoy(request.Password ?? "");
            throttle.RecordFailure(client);
            await grains.GetGrain<IAuditChainGrain>(DirectoryIds.PlatformChain).AppendAsync(new AuditFact(AuditKind.SignInFailed, "", "",
                new Dictionary<string, string> { ["login"] = Logins.MaskLogin(login ?? (request.Login ?? "").Trim()), ["reason"] = "unknown login" }));
            throw AccountGrain.WrongPassword();
        }
        try
        {
            return await tokens.IssueAsync(await grains.GetGrain<IAccountGrain>(accountId).SignInAsync(request.Password ?? ""));
        }
        catch (RequestRefusedException)
        {
            throttle.RecordFailure(client);
            throw;
        }
    }

    public async Task<TokenResponse> RefreshAsync(string refreshToken)
    {
        var (accountId, sessionId, secret) = ParseRefreshToken(refreshToken);
        return await tokens.IssueAsync(await grains.GetGrain<IAccountGrain>(accountId).RefreshAsync(sessionId, secret));
    }

    public async Task SignOutAsync(string refreshToken)
    {
        var (accountId, sessionId, secret) = ParseRefreshToken(refreshToken);
        await grains.GetGrain<IAccountGrain>(accountId).SignOutAsync(sessionId, secret);
    }

    private static (string Account, string Session, string Secret) ParseRefreshToken(string? token)
    {
        var parts = (token ?? "").Split('.');
        if (parts.Length != 3 || !parts[0].StartsWith(DirectoryIds.Account, StringComparison.Ordinal) || parts[1].Length == 0 || parts[2].Length == 0)
        {
            throw new RequestRefusedException(StatusCode.Unauthenticated, "登录已失效，请重新登录。", "The refresh token is not valid; please sign in again.");
        }
        return (parts[0], parts[1], parts[2]);
    }

    /// <summary>The phone if it is free, else a generated "u" + 8 digits login (derived from the request, so a retry picks the same).</summary>
    private async Task<string> ClaimLoginAsync(string accountId, string requestId, string? phone)
    {
        if (phone is not null && await grains.GetGrain<ILoginGrain>(phone).ClaimAsync(accountId) == accountId)
        {
            return phone;
        }
        for (int attempt = 0; ; attempt++)
        {
            byte[] digest = SHA256.HashData(Encoding.UTF8.GetBytes($"{requestId}\n{attempt}"));
            string login = "u" + (BitConverter.ToUInt32(digest) % 100_000_000).ToString("D8", System.Globalization.CultureInfo.InvariantCulture);
            if (await grains.GetGrain<ILoginGrain>(login).ClaimAsync(accountId) == accountId)
            {
                return login;
            }
        }
    }

    /// <summary>An account id derived from the creating request, so a retry names the same account.</summary>
    private static string AccountIdFor(string requestId, string subject) =>
        DirectoryIds.Account + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{subject}\n{requestId}")).AsSpan(0, 10));
}

internal static class ResidentSnapshotExtensions
{
    public static bool IsCurrent(this ResidentSnapshot resident) => resident.Until is null;
}
