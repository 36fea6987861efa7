using Courtyard.Portal.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Courtyard.Portal.Tests.Account;

/// <summary>
/// Sign-in keeps the Directory's tokens in the portal's encrypted, HTTP-only cookie; the access token is refreshed
/// before it expires (also when a page and its live tally ask at the same moment); a refusal is a Chinese message on
/// the page; signing out ends the session.
/// </summary>
public sealed class SignInTests : IAsyncLifetime
{
    private PortalHost host = default!;
    private TestCourtyard courtyard = default!;
    private Chromium chromium = default!;
    private string voteId = "";

    public async Task InitializeAsync()
    {
        // Access tokens that live 62 s: with the portal's one-minute margin every request after two seconds refreshes.
        host = await PortalHost.StartAsync(new Dictionary<string, string?> { ["Directory:Tokens:AccessTokenLifetime"] = "00:01:02" });
        courtyard = await TestCourtyard.CreateAsync(host);
        await courtyard.ImportRollAsync(4);
        await courtyard.ResidentAsync(0, "张阿姨");
        (_, voteId) = await courtyard.OpenVoteAsync("东门加装自行车棚");
        chromium = await Chromium.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await chromium.DisposeAsync();
        courtyard.Dispose();
        await host.DisposeAsync();
    }

    [Fact]
    public async Task A_wrong_password_is_refused_on_the_page_in_chinese()
    {
        var page = await chromium.OpenAsync(host.HttpAddress);
        var response = await page.GotoAsync("/account/sign-in");
        await page.GetByLabel("手机号或登录名").FillAsync(TestCourtyard.Phone(0));
        await page.GetByLabel("密码").FillAsync("not-the-password");
        await page.Locator("main").GetByRole(AriaRole.Button, new() { Name = "登录" }).ClickAsync();

        await Expect(page.Alert()).ToContainTextAsync("密码");
        string alert = await page.Alert().InnerTextAsync();
        Assert.Matches(@"\p{IsCJKUnifiedIdeographs}", alert);
        Assert.DoesNotContain("Exception", await page.ContentAsync());
        await Expect(page.Locator("h1")).ToHaveTextAsync("登录");
    }

    [Fact]
    public async Task The_cookie_is_http_only_and_its_access_token_is_refreshed_before_it_expires()
    {
        var page = await chromium.OpenAsync(host.HttpAddress);
        await page.SignInAsync(TestCourtyard.Phone(0), TestCourtyard.ResidentPassword);
        var first = await SessionCookieAsync(page);
        Assert.True(first.HttpOnly);
        Assert.DoesNotContain("eyJ", first.Value);   // no readable JWT inside: the ticket is encrypted

        await Task.Delay(TimeSpan.FromSeconds(3));
        // The vote page finds the token due: it refreshes and re-issues the cookie; the live tally's stream then works on it.
        await page.GotoAsync($"/votes/{voteId}");
        await Expect(page.Locator("[data-live-tally]")).ToHaveAttributeAsync("data-live-updated", new System.Text.RegularExpressions.Regex(@"\d+"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("东门加装自行车棚");
        Assert.NotEqual(first.Value, (await SessionCookieAsync(page)).Value);

        // Still signed in, with tokens that work, long after the first access token would be due.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await page.GotoAsync("/proposals");
        await Expect(page.Locator(".card")).ToContainTextAsync("东门加装自行车棚");
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        var page = await chromium.OpenAsync(host.HttpAddress);
        await page.SignInAsync(TestCourtyard.Phone(0), TestCourtyard.ResidentPassword);
        await page.GotoAsync("/account");
        await page.GetByRole(AriaRole.Button, new() { Name = "退出登录" }).ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("欢迎来到院落议事");
        Assert.DoesNotContain(await page.Context.CookiesAsync(), cookie => cookie.Name.StartsWith("courtyard.portal", StringComparison.Ordinal));

        await page.GotoAsync("/proposals");
        await Expect(page.Locator("h1")).ToHaveTextAsync("登录");
        Assert.Contains("returnUrl=%2Fproposals", page.Url);
    }

    private static async Task<BrowserContextCookiesResult> SessionCookieAsync(IPage page) =>
        (await page.Context.CookiesAsync()).Single(cookie => cookie.Name == "courtyard.portal");
}
