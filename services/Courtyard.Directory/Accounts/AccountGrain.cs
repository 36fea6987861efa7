using System.Security.Cryptography;
using System.Text;
using Courtyard.Directory.Audit;
using Courtyard.Directory.V1;
using Courtyard.ServiceDefaults;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Courtyard.Directory.Accounts;

/// <summary>
/// One account, keyed by its id: password, sessions, and the failed-attempt counter. Every sign-in to this account, on
/// any replica, goes through this one activation, so slowing down and locking hold across replicas; the counter is
/// stored after each failure, so a restart does not reset it.
/// </summary>
public interface IAccountGrain : IGrainWithStringKey
{
    Task<bool> ExistsAsync();

    /// <summary>Creates the account; a retry of the same request succeeds again, any other create of this id is refused.</summary>
    Task CreateAsync(CreateAccountCommand command);

    /// <summary>Checks the password (slowing down and locking after failures) and opens a session.</summary>
    Task<SignedIn> SignInAsync(string password);

    /// <summary>Replaces a session's refresh token by a new one.</summary>
    Task<SignedIn> RefreshAsync(string sessionId, string secret);

    /// <summary>Revokes the session of this refresh token; unknown or already revoked tokens are ignored.</summary>
    Task SignOutAsync(string sessionId, string secret);

    Task ChangePasswordAsync(string requestId, string currentPassword, string newPasswordHash);

    /// <summary>Sets a new password without the old one (the committee reprinting a slip for the same request).</summary>
    Task ResetPasswordAsync(string requestId, string newPasswordHash);

    Task<AccountProfile> GetProfileAsync();
    Task<string> GetCreateRequestIdAsync();
    Task LinkResidentAsync(string residentId, string auditChain);
    Task NoteGrantScopeAsync(string scopeId);
}

[GrainType("directory.account")]
internal sealed class AccountGrain(
    [PersistentState("account", DirectoryOptions.ServiceName)] IPersistentState<AccountState> state,
    IOptions<DirectoryOptions> options,
    [FromKeyedServices(DirectoryOptions.ServiceName)] TimeProvider time) : Grain, IAccountGrain
{
    private const int MaxSessions = 20;

    private AccountState State => state.State;
    private string Id => this.GetPrimaryKeyString();
    private DirectoryOptions.SignInSettings Policy => options.Value.SignIn;

    public Task<bool> ExistsAsync() => Task.FromResult(State.Exists);

    public async Task CreateAsync(CreateAccountCommand command)
    {
        if (State.Exists)
        {
            if (State.CreateRequestId == command.RequestId)
            {
                return;
            }
            throw RequestRefusedException.AlreadyExists("账号已存在。", $"Account {Id} already exists.");
        }
        State.Login = command.Login;
        State.DisplayName = command.DisplayName;
        State.PasswordHash = command.PasswordHash;
        State.CreatedAt = time.GetUtcNow();
        State.CreatedBy = command.CreatedBy;
        State.CreateRequestId = command.RequestId;
        State.AuditChain = command.AuditChain;
        if (command.Recorded is { } recorded)
        {
            State.RecordAudit(command.AuditChain, recorded, State.CreatedAt);
        }
        await state.WriteStateAsync();
    }

    public async Task<SignedIn> SignInAsync(string password)
    {
        RequireExists();
        var now = time.GetUtcNow();
        if (State.LockedUntil is { } until && until > now)
        {
            // Nothing else changes, but the attempt is recorded: the write carries only its audit entry.
            Audit(AuditKind.SignInFailed, new() { ["reason"] = "locked" });
            await state.WriteStateAsync();
            throw Locked(until);
        }
        if (!Passwords.Verify(State.PasswordHash, password))
        {
            await FailAsync(now);
            throw WrongPassword();
        }
        State.ConsecutiveFailures = 0;
        State.LockedUntil = null;
        var token = OpenSession(Guid.NewGuid().ToString("N")[..12], now);
        Audit(AuditKind.SignInSucceeded, []);
        await state.WriteStateAsync();
        return new SignedIn(Profile(), token);
    }

    public async Task<SignedIn> RefreshAsync(string sessionId, string secret)
    {
        var now = time.GetUtcNow();
        var session = Find(sessionId, secret);
        if (session is null || session.RevokedAt is not null || session.ExpiresAt <= now)
        {
            throw SessionEnded();
        }
        if (session.ReplacedAt is not null)
        {
            // A refresh token used twice: someone else holds a copy. End every session of its family.
            foreach (var member in State.Sessions.Where(s => s.FamilyId == session.FamilyId))
            {
                member.RevokedAt ??= now;
            }
            await state.WriteStateAsync();
            throw SessionEnded();
        }
        session.ReplacedAt = now;
        var token = OpenSession(session.FamilyId, now);
        await state.WriteStateAsync();
        return new SignedIn(Profile(), token);
    }

    public async Task SignOutAsync(string sessionId, string secret)
    {
        var session = Find(sessionId, secret);
        if (session is null || session.RevokedAt is not null)
        {
            return;
        }
        var now = time.GetUtcNow();
        foreach (var member in State.Sessions.Where(s => s.FamilyId == session.FamilyId))
        {
            member.RevokedAt ??= now;
        }
        await state.WriteStateAsync();
    }

    public async Task ChangePasswordAsync(string requestId, string currentPassword, string newPasswordHash)
    {
        RequireExists();
        Refusals.RequireRequestId(requestId);
        if (requestId == State.LastPasswordChangeRequestId)
        {
            return;
        }
        var now = time.GetUtcNow();
        if (State.LockedUntil is { } until && until > now)
        {
            throw Locked(until);
        }
        if (!Passwords.Verify(State.PasswordHash, currentPassword))
        {
            await FailAsync(now);
            throw RequestRefusedException.InvalidArgument("当前密码不正确。", "The current password is not correct.");
        }
        State.PasswordHash = newPasswordHash;
        State.LastPasswordChangeRequestId = requestId;
        State.ConsecutiveFailures = 0;
        // Other devices sign in again with the new password.
        foreach (var session in State.Sessions)
        {
            session.RevokedAt ??= now;
        }
        await state.WriteStateAsync();
    }

    public async Task ResetPasswordAsync(string requestId, string newPasswordHash)
    {
        RequireExists();
        if (requestId != State.CreateRequestId)
        {
            throw RequestRefusedException.AlreadyExists("该居民已有账号。", $"Account {Id} already exists.");
        }
        State.PasswordHash = newPasswordHash;
        await state.WriteStateAsync();
    }

    public Task<AccountProfile> GetProfileAsync()
    {
        RequireExists();
        return Task.FromResult(Profile());
    }

    public Task<string> GetCreateRequestIdAsync() => Task.FromResult(State.CreateRequestId);

    public async Task LinkResidentAsync(string residentId, string auditChain)
    {
        RequireExists();
        if (State.ResidentIds.Contains(residentId))
        {
            return;
        }
        State.ResidentIds.Add(residentId);
        if (State.AuditChain == DirectoryIds.PlatformChain)
        {
            State.AuditChain = auditChain;
        }
        await state.WriteStateAsync();
    }

    public async Task NoteGrantScopeAsync(string scopeId)
    {
        RequireExists();
        if (State.GrantScopes.Contains(scopeId))
        {
            return;
        }
        State.GrantScopes.Add(scopeId);
        await state.WriteStateAsync();
    }

    /// <summary>Counts the failure (stored), locks after too many, and answers later the more failures came before.</summary>
    private async Task FailAsync(DateTimeOffset now)
    {
        State.ConsecutiveFailures++;
        int failures = State.ConsecutiveFailures;
        bool locks = failures >= Policy.LockAfterFailures;
        if (locks)
        {
            State.LockedUntil = now + Policy.LockoutDuration;
            State.ConsecutiveFailures = 0;
        }
        Audit(locks ? AuditKind.AccountLocked : AuditKind.SignInFailed,
            new() { ["consecutive_failures"] = failures.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await state.WriteStateAsync();
        if (locks)
        {
            throw Locked(State.LockedUntil!.Value);
        }
        if (failures > Policy.FreeFailures)
        {
            // The account's calls queue behind this one (the grain is not reentrant): guesses cannot run in parallel.
            var delay = Policy.FirstDelay * Math.Pow(2, Math.Min(failures - Policy.FreeFailures - 1, 16));
            await Task.Delay(delay < Policy.MaxDelay ? delay : Policy.MaxDelay, time);
        }
    }

    private IssuedRefreshToken OpenSession(string familyId, DateTimeOffset now)
    {
        State.Sessions.RemoveAll(s => s.ExpiresAt <= now || (s.RevokedAt is { } revoked && revoked < now - TimeSpan.FromDays(1)));
        string secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var session = new RefreshSession
        {
            Id = Base64Url(RandomNumberGenerator.GetBytes(9)),
            FamilyId = familyId,
            SecretHash = SHA256.HashData(Encoding.ASCII.GetBytes(secret)),
            ExpiresAt = now + options.Value.Tokens.RefreshTokenLifetime,
        };
        State.Sessions.Add(session);
        var live = State.Sessions.Where(s => s.RevokedAt is null && s.ReplacedAt is null).OrderBy(s => s.ExpiresAt).ToList();
        foreach (var oldest in live.Take(Math.Max(0, live.Count - MaxSessions)))
        {
            oldest.RevokedAt = now;
        }
        return new IssuedRefreshToken($"{Id}.{session.Id}.{secret}", session.ExpiresAt);
    }

    /// <summary>The session whose id and secret match; the secret is compared in constant time.</summary>
    private RefreshSession? Find(string sessionId, string secret)
    {
        var session = State.Sessions.FirstOrDefault(s => s.Id == sessionId);
        byte[] presented = SHA256.HashData(Encoding.ASCII.GetBytes(secret));
        return session is not null && CryptographicOperations.FixedTimeEquals(session.SecretHash, presented) ? session : null;
    }

    private AccountProfile Profile() =>
        new(Id, State.Login, State.DisplayName, State.ResidentIds.ToArray(), State.GrantScopes.ToArray());

    /// <summary>Records a sign-in attempt in the account's audit chain with the next state write (the same transaction).</summary>
    private void Audit(AuditKind kind, Dictionary<string, string> details)
    {
        details["login"] = Logins.MaskLogin(State.Login);
        State.RecordAudit(State.AuditChain, new AuditFact(kind, Id, Id, details), time.GetUtcNow());
    }

    private void RequireExists()
    {
        if (!State.Exists)
        {
            throw Refusals.AccountNotFound(Id);
        }
    }

    internal static RequestRefusedException WrongPassword() =>
        new(StatusCode.Unauthenticated, "账号或密码不正确。", "The login or password is not correct.");

    private static RequestRefusedException SessionEnded() =>
        new(StatusCode.Unauthenticated, "登录已失效，请重新登录。", "This session has ended; please sign in again.");

    private static RequestRefusedException Locked(DateTimeOffset until) =>
        RequestRefusedException.FailedPrecondition(
            $"密码错误次数过多，账号已暂时锁定，请于 {until.ToOffset(TimeSpan.FromHours(8)):HH:mm}（北京时间）后再试，或请院委会协助。",
            $"Too many wrong passwords: the account is locked until {until:u}. Try again later or ask the committee.");

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
