using System.Diagnostics;
using Courtyard.Directory.Tests.Support;
using Courtyard.Directory.V1;
using Courtyard.Testing.Authorization;
using Courtyard.Testing.Services;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using Orleans.Runtime;

namespace Courtyard.Directory.Tests.Accounts;

public abstract class SignInTests(TestStorage storage) : DirectoryScenario(storage)
{
    public sealed class OnSqlite() : SignInTests(TestStorage.Sqlite);

    public sealed class OnPostgres() : SignInTests(TestStorage.Postgres);

    private readonly FakeTimeProvider time = new(DateTimeOffset.UtcNow);

    // No slowing down here (it waits on this test's clock); SignInSlowdownTests below runs on the real one.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Directory:SignIn:FreeFailures"] = "100",
        ["Directory:SignIn:LockAfterFailures"] = "5",
        ["Directory:SignIn:LockoutDuration"] = "00:15:00",
    };

    protected override TimeProvider Time => time;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Host.Client().ImportAsync(Admin, Territory.OwnCourtyardId, RollFiles.Utf8("""
            楼栋,单元,房号,面积,业主/租户,姓名,电话
            3,2,501,89.57,业主,王秀英,
            """));
    }

    /// <summary>The committee creates an account for the elderly resident of 3-2-501, who has no phone.</summary>
    private async Task<CreatedAccount> AccountForElderlyResidentAsync()
    {
        var resident = (await Host.Client().AllResidentsAsync(Admin, Territory.OwnCourtyardId)).Single();
        return await Host.Client().CreateResidentAccountAsync(new CreateResidentAccountRequest
        {
            RequestId = Calls.NewRequestId(), ResidentId = resident.Id,
        }, AdminHeaders);
    }

    private Task<TokenResponse> SignIn(string login, string password) =>
        Host.Client().SignInAsync(new SignInRequest { Login = login, Password = password }).ResponseAsync;

    [Fact]
    public async Task The_committee_creates_an_account_for_a_resident_without_a_phone_and_the_audit_log_records_who()
    {
        var created = await AccountForElderlyResidentAsync();

        Assert.Matches("^u[0-9]{8}$", created.Login);
        Assert.Equal(10, created.InitialPassword.Length);
        var tokens = await SignIn(created.Login, created.InitialPassword);
        var me = await Host.Client().WhoAmIAsync(new WhoAmIRequest(), DirectoryTestHost.Bearer(tokens.AccessToken));
        Assert.Equal("王秀英", me.Residencies.Single().DisplayName);
        var audit = await Host.AuditEntriesAsync(Territory.OwnCourtyardId, AdminHeaders);
        var entry = audit.Entries.Single(e => e.Kind == AuditKind.AccountCreatedOnBehalf);
        Assert.Equal(created.AccountId, entry.SubjectId);
        Assert.NotEqual("", entry.ActorId);
        Assert.Contains(audit.Entries, e => e.Kind == AuditKind.SignInSucceeded && e.ActorId == created.AccountId);
    }

    [Fact]
    public async Task After_too_many_wrong_passwords_the_account_is_locked_for_a_while_even_on_another_activation()
    {
        var created = await AccountForElderlyResidentAsync();
        for (int i = 1; i <= 4; i++)
        {
            var wrong = await Assert.ThrowsAsync<RpcException>(() => SignIn(created.Login, "wrong-password-" + i));
            Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
            Assert.StartsWith("账号或密码不正确", wrong.Status.Detail);
            // What another replica would see: the account's grain activated afresh from storage.
            await Host.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        }

        var locking = await Assert.ThrowsAsync<RpcException>(() => SignIn(created.Login, "wrong-password-5"));
        var stillLocked = await Assert.ThrowsAsync<RpcException>(() => SignIn(created.Login, created.InitialPassword));

        Assert.Equal(StatusCode.FailedPrecondition, locking.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, stillLocked.StatusCode);
        Assert.StartsWith("密码错误次数过多，账号已暂时锁定", stillLocked.Status.Detail);
        time.Advance(TimeSpan.FromMinutes(16));
        Assert.NotEmpty((await SignIn(created.Login, created.InitialPassword)).AccessToken);
        var audit = await Host.AuditEntriesAsync(Territory.OwnCourtyardId, AdminHeaders);
        Assert.Equal(1, audit.Entries.Count(e => e.Kind == AuditKind.AccountLocked));
        Assert.True(audit.Entries.Count(e => e.Kind == AuditKind.SignInFailed) >= 5);
    }

    [Fact]
    public async Task An_unknown_login_gets_the_same_answer_as_a_wrong_password()
    {
        var created = await AccountForElderlyResidentAsync();

        var unknown = await Assert.ThrowsAsync<RpcException>(() => SignIn("13012345678", "whatever-it-is"));
        var wrong = await Assert.ThrowsAsync<RpcException>(() => SignIn(created.Login, "whatever-it-is"));

        Assert.Equal(wrong.StatusCode, unknown.StatusCode);
        Assert.Equal(wrong.Status.Detail, unknown.Status.Detail);
    }

    [Fact]
    public async Task A_refresh_token_works_once_a_reused_one_ends_the_session_and_signing_out_revokes_it()
    {
        var created = await AccountForElderlyResidentAsync();
        var first = await SignIn(created.Login, created.InitialPassword);
        var client = Host.Client();

        var second = await client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = first.RefreshToken });
        Assert.NotEqual(first.RefreshToken, second.RefreshToken);
        var reuse = await Assert.ThrowsAsync<RpcException>(() => client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = first.RefreshToken }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, reuse.StatusCode);
        // The copy was used by someone: the session it belongs to has ended for everyone.
        await Assert.ThrowsAsync<RpcException>(() => client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = second.RefreshToken }).ResponseAsync);

        var other = await SignIn(created.Login, created.InitialPassword);
        await client.SignOutAsync(new SignOutRequest { RefreshToken = other.RefreshToken });
        var afterSignOut = await Assert.ThrowsAsync<RpcException>(() => client.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = other.RefreshToken }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, afterSignOut.StatusCode);
        Assert.StartsWith("登录已失效", afterSignOut.Status.Detail);
    }

    [Fact]
    public async Task A_changed_password_replaces_the_old_one()
    {
        var created = await AccountForElderlyResidentAsync();
        var tokens = await SignIn(created.Login, created.InitialPassword);

        var tooShort = await Assert.ThrowsAsync<RpcException>(() => Host.Client().ChangePasswordAsync(new ChangePasswordRequest
        {
            RequestId = Calls.NewRequestId(), CurrentPassword = created.InitialPassword, NewPassword = "1234",
        }, DirectoryTestHost.Bearer(tokens.AccessToken)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, tooShort.StatusCode);
        var change = new ChangePasswordRequest { RequestId = Calls.NewRequestId(), CurrentPassword = created.InitialPassword, NewPassword = "院里的海棠花开了" };
        await Host.Client().ChangePasswordAsync(change, DirectoryTestHost.Bearer(tokens.AccessToken));
        // The answer was lost and the app retries: the same request succeeds again.
        await Host.Client().ChangePasswordAsync(change, DirectoryTestHost.Bearer(tokens.AccessToken));
        var otherDevice = await Assert.ThrowsAsync<RpcException>(() => Host.Client().RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = tokens.RefreshToken }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, otherDevice.StatusCode);

        await Assert.ThrowsAsync<RpcException>(() => SignIn(created.Login, created.InitialPassword));
        Assert.NotEmpty((await SignIn(created.Login, "院里的海棠花开了")).AccessToken);
    }
}

public abstract class SignInSlowdownTests(TestStorage storage)
{
    public sealed class OnSqlite() : SignInSlowdownTests(TestStorage.Sqlite);

    public sealed class OnPostgres() : SignInSlowdownTests(TestStorage.Postgres);

    [Fact]
    public async Task Failed_sign_ins_beyond_the_free_ones_are_answered_more_slowly()
    {
        await using var host = await DirectoryTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Directory:SignIn:FreeFailures"] = "2",
            ["Directory:SignIn:FirstDelay"] = "00:00:00.400",
            ["Directory:SignIn:MaxDelay"] = "00:00:01",
        }, storage: storage);
        var client = host.Client();
        var elapsed = new List<TimeSpan>();
        for (int i = 0; i < 4; i++)
        {
            var timer = Stopwatch.StartNew();
            await Assert.ThrowsAsync<RpcException>(() => client.SignInAsync(new SignInRequest { Login = DirectoryTestHost.AdminLogin, Password = "guess-" + i }).ResponseAsync);
            elapsed.Add(timer.Elapsed);
        }

        // The third and fourth failures wait at least 0.4 s and 0.8 s; a loaded machine only makes them slower.
        Assert.True(elapsed[2] >= TimeSpan.FromMilliseconds(400), $"third failure took {elapsed[2].TotalMilliseconds:0} ms");
        Assert.True(elapsed[3] >= TimeSpan.FromMilliseconds(800), $"fourth failure took {elapsed[3].TotalMilliseconds:0} ms");
        Assert.NotEmpty(await host.SignInAdminAsync());
    }
}
