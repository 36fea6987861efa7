using Courtyard.Directory.Tests.Support;
using Courtyard.Directory.V1;
using Courtyard.Testing.Authorization;
using Courtyard.Testing.Services;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Courtyard.Directory.Tests.Accounts;

public abstract class InvitationTests(TestStorage storage) : DirectoryScenario(storage)
{
    public sealed class OnSqlite() : InvitationTests(TestStorage.Sqlite);

    public sealed class OnPostgres() : InvitationTests(TestStorage.Postgres);

    private const string Roll = """
        楼栋,单元,房号,面积,业主/租户,姓名,电话
        3,2,501,89.57,业主,王秀英,13800138000
        3,2,502,102.3,业主,李建国,
        5,1,101,65,租户,赵磊,15000150000
        """;

    private readonly FakeTimeProvider time = new(DateTimeOffset.UtcNow);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Directory:Throttle:FailuresPerClient"] = "4" };

    protected override TimeProvider Time => time;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Host.Client().ImportAsync(Admin, Territory.OwnCourtyardId, RollFiles.Utf8(Roll));
    }

    private async Task<InvitationSlip> SlipForAsync(string doorLabel, int validDays = 0)
    {
        var slips = await Host.Client().CreateInvitationsAsync(new CreateInvitationsRequest
        {
            RequestId = Calls.NewRequestId(), CourtyardId = Territory.OwnCourtyardId, ValidDays = validDays,
        }, AdminHeaders);
        return slips.Slips.Single(s => s.DoorLabel == doorLabel);
    }

    [Fact]
    public async Task Slips_carry_a_long_code_and_a_printable_qr_code_for_every_household_without_an_account()
    {
        var slips = await Host.Client().CreateInvitationsAsync(new CreateInvitationsRequest
        {
            RequestId = Calls.NewRequestId(), CourtyardId = Territory.OwnCourtyardId,
        }, AdminHeaders);

        Assert.Equal(3, slips.Slips.Count);
        Assert.All(slips.Slips, slip =>
        {
            Assert.Matches("^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$", slip.Code);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], slip.QrPng.Span[..4].ToArray());
            Assert.Equal("银闸胡同院", slip.CourtyardName.ZhCn);
        });
        Assert.Equal(3, slips.Slips.Select(s => s.Code).Distinct().Count());
    }

    [Fact]
    public async Task Slips_for_a_large_courtyard_come_a_page_at_a_time()
    {
        await Host.Client().ImportAsync(Admin, Territory.SiblingCourtyardId, RollFiles.Utf8(RollFiles.Generate(250)));
        var codes = new List<string>();
        string pageToken = "";
        do
        {
            var page = await Host.Client().CreateInvitationsAsync(new CreateInvitationsRequest
            {
                RequestId = Calls.NewRequestId(), CourtyardId = Territory.SiblingCourtyardId, Page = new Common.V1.PageRequest { PageToken = pageToken },
            }, AdminHeaders);
            Assert.True(page.Slips.Count <= 100);
            codes.AddRange(page.Slips.Select(s => s.HouseholdId));
            pageToken = page.Page.NextPageToken;
        }
        while (pageToken.Length > 0);

        Assert.Equal(250, codes.Distinct().Count());
    }

    [Fact]
    public async Task Redeeming_links_the_owner_the_roll_lists_signs_them_in_and_works_only_once()
    {
        var slip = await SlipForAsync("3栋2单元501");
        var client = Host.Client();

        var redeemed = await client.RedeemInvitationAsync(new RedeemInvitationRequest
        {
            RequestId = Calls.NewRequestId(), Code = slip.Code.ToLowerInvariant().Replace("-", " "), Login = "138 0013 8000",
            Password = "菊花开了2026", DisplayName = "王秀英",
        });

        Assert.Equal(HouseholdRelation.Owner, redeemed.Resident.Relation);
        Assert.Equal("13800138000", redeemed.Resident.Phone);
        var token = new JsonWebToken(redeemed.Tokens.AccessToken);
        Assert.Equal("ES256", token.Alg);
        Assert.Contains(token.Claims, c => c.Type == "cy_resident" && c.Value == redeemed.Resident.Id);
        Assert.Contains(token.Claims, c => c.Type == "cy_grant" && c.Value == $"resident@{Territory.OwnCourtyardId}");
        var me = await client.WhoAmIAsync(new WhoAmIRequest(), DirectoryTestHost.Bearer(redeemed.Tokens.AccessToken));
        Assert.Equal("13800138000", me.Login);
        Assert.Equal("3栋2单元501", (await client.GetHouseholdAsync(new GetHouseholdRequest { HouseholdId = me.Residencies.Single().HouseholdId },
            AdminHeaders)).DoorLabel);
        var signedIn = await Host.SignInAsync("13800138000", "菊花开了2026");
        Assert.NotEmpty(signedIn);
        var events = await Host.CommittedEventsAsync<ResidentUpdated>();
        Assert.Contains(events, e => e.ResidentId == redeemed.Resident.Id && e.AccountId == me.AccountId);

        // Long after the redeeming request's hold on the code would have lapsed, it is still used up.
        time.Advance(TimeSpan.FromMinutes(30));
        var again = await Assert.ThrowsAsync<RpcException>(() => client.RedeemInvitationAsync(new RedeemInvitationRequest
        {
            RequestId = Calls.NewRequestId(), Code = slip.Code, Login = "13911112222", Password = "另一个人的密码", DisplayName = "冒名者",
        }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, again.StatusCode);
        Assert.StartsWith("邀请码无效、已使用或已过期", again.Status.Detail);
    }

    [Fact]
    public async Task A_newcomer_joins_as_family_or_tenant_and_cannot_make_themself_an_owner()
    {
        var slip = await SlipForAsync("3栋2单元502");
        var client = Host.Client();

        var owner = await Assert.ThrowsAsync<RpcException>(() => client.RedeemInvitationAsync(new RedeemInvitationRequest
        {
            RequestId = Calls.NewRequestId(), Code = slip.Code, Login = "13622223333", Password = "我家的门牌502",
            DisplayName = "李小明", Relation = HouseholdRelation.Owner,
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, owner.StatusCode);
        Assert.Contains("业主身份", owner.Status.Detail);

        // Refused, nothing was redeemed: the same code works when the form is corrected.
        var joined = await client.RedeemInvitationAsync(new RedeemInvitationRequest
        {
            RequestId = Calls.NewRequestId(), Code = slip.Code, Login = "13622223333", Password = "我家的门牌502",
            DisplayName = "李小明", Relation = HouseholdRelation.FamilyMember,
        });
        Assert.Equal(HouseholdRelation.FamilyMember, joined.Resident.Relation);
        Assert.NotEqual("", joined.Resident.AccountId);
    }

    [Fact]
    public async Task An_existing_login_with_its_password_adds_a_second_household_to_the_same_account()
    {
        var client = Host.Client();
        var first = await client.RedeemInvitationAsync(new RedeemInvitationRequest
        {
            RequestId = Calls.NewRequestId(), Code = (await SlipForAsync("3栋2单元501")).Code, Login = "13800138000", Password = "菊花开了2026", DisplayName = "王秀英",
        });
        var slip = await SlipForAsync("5栋1单元101");

        var wrongPassword = await Assert.ThrowsAsync<RpcException>(() => client.RedeemInvitationAsync(new RedeemInvitationRequest
        {
            RequestId = Calls.NewRequestId(), Code = slip.Code, Login = "13800138000", Password = "not-her-password", DisplayName = "王秀英",
        }).ResponseAsync);
        var second = await client.RedeemInvitationAsync(new RedeemInvitationRequest
        {
            RequestId = Calls.NewRequestId(), Code = slip.Code, Login = "13800138000", Password = "菊花开了2026", DisplayName = "王秀英",
            Relation = HouseholdRelation.FamilyMember,
        });

        Assert.Equal(StatusCode.Unauthenticated, wrongPassword.StatusCode);
        Assert.StartsWith("这个手机号已经注册过", wrongPassword.Status.Detail);
        Assert.Equal(first.Resident.AccountId, second.Resident.AccountId);
        var me = await client.WhoAmIAsync(new WhoAmIRequest(), DirectoryTestHost.Bearer(second.Tokens.AccessToken));
        Assert.Equal(["3栋2单元501", "5栋1单元101"], me.Residencies.Select(r => r.HouseholdId).Select(id => DoorOf(id)).Order());
    }

    private string DoorOf(string householdId) =>
        Host.Client().GetHousehold(new GetHouseholdRequest { HouseholdId = householdId }, AdminHeaders).DoorLabel;

    [Fact]
    public async Task An_expired_code_does_not_work()
    {
        var slip = await SlipForAsync("5栋1单元101", validDays: 3);
        time.Advance(TimeSpan.FromDays(3) + TimeSpan.FromMinutes(1));

        var refused = await Assert.ThrowsAsync<RpcException>(() => Host.Client().RedeemInvitationAsync(new RedeemInvitationRequest
        {
            RequestId = Calls.NewRequestId(), Code = slip.Code, Login = "15000150000", Password = "租的房子也是家",
            DisplayName = "赵磊",
        }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, refused.StatusCode);
    }

    [Fact]
    public async Task Guessing_codes_is_throttled_per_client_even_when_the_next_guess_is_right()
    {
        var slip = await SlipForAsync("5栋1单元101");
        var client = Host.Client();
        for (int i = 0; i < 4; i++)
        {
            var wrong = await Assert.ThrowsAsync<RpcException>(() => client.RedeemInvitationAsync(new RedeemInvitationRequest
            {
                RequestId = Calls.NewRequestId(), Code = "AAAA-BBBB-CCCC-DDD" + "EFGH"[i], Login = "15000150000", Password = "租的房子也是家", DisplayName = "赵磊",
            }).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, wrong.StatusCode);
        }

        var throttled = await Assert.ThrowsAsync<RpcException>(() => client.RedeemInvitationAsync(new RedeemInvitationRequest
        {
            RequestId = Calls.NewRequestId(), Code = slip.Code, Login = "15000150000", Password = "租的房子也是家", DisplayName = "赵磊",
        }).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, throttled.StatusCode);
        Assert.StartsWith("尝试次数过多", throttled.Status.Detail);
    }
}
