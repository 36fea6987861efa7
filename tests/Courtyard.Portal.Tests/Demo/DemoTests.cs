using Courtyard.Portal.Tests.Support;
using Courtyard.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Courtyard.Portal.Tests.Demo;

/// <summary>
/// `dotnet run --project services/Platform.Host -- --demo`: the accounts in demo-accounts.json sign in on the portal and
/// walk the journey at once — a resident votes in the open vote, the committee watches participation, and anyone reads
/// the passed proposal's notice. Takes the screenshot of the resident's vote page that the top-level README shows.
/// </summary>
public sealed class DemoTests : IAsyncLifetime
{
    private PortalHost host = default!;
    private Chromium chromium = default!;
    private readonly Screenshots screenshots = new(nameof(DemoTests));

    public async Task InitializeAsync()
    {
        host = await PortalHost.StartAsync(demo: true);
        chromium = await Chromium.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await chromium.DisposeAsync();
        await host.DisposeAsync();
    }

    [Fact]
    public async Task The_demo_accounts_sign_in_and_walk_the_journey_at_once()
    {
        var resident = host.DemoAccount("resident");
        var page = await chromium.OpenAsync(host.HttpAddress, width: 800, height: 1000);
        await page.SignInAsync(resident.Login, resident.Password);
        await Expect(page.Locator(".courtyard-name")).ToHaveTextAsync(host.DemoAccounts!.Courtyard.Name);
        await page.GetByRole(AriaRole.Link, new() { Name = "去投票" }).First.ClickAsync();
        await page.GetByLabel("同意").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "投票", Exact = true }).ClickAsync();
        await Expect(page.Status()).ToContainTextAsync("您的投票已记录");
        await Accessibility.AssertNoSeriousViolationsAsync(page, "the demo's vote page");
        string shot = await screenshots.TakeAsync(page, "resident-vote");
        // COURTYARD_UPDATE_DOCS=1 refreshes the README's picture; otherwise a test run leaves the repository as it was.
        if (Environment.GetEnvironmentVariable("COURTYARD_UPDATE_DOCS") == "1")
        {
            File.Copy(shot, Path.Combine(RepositoryRoot.Path, "docs", "screenshots", "resident-vote.png"), overwrite: true);
        }

        var chair = await chromium.OpenAsync(host.HttpAddress);
        var chairAccount = host.DemoAccount("committee_chair");
        await chair.SignInAsync(chairAccount.Login, chairAccount.Password);
        await chair.GotoAsync("/committee");
        await Expect(chair.Locator("main")).ToContainTextAsync("名册：120 户");
        await Expect(chair.Locator(".live-tally").First).ToContainTextAsync("参与面积");
        await screenshots.TakeAsync(chair, "committee");

        var visitor = await chromium.OpenAsync(host.HttpAddress);
        await visitor.GotoAsync($"/notices/{host.DemoAccounts.Courtyard.Id}");
        await visitor.Locator(".card a").First.ClickAsync();
        await Expect(visitor.Locator(".notice-hash code")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9a-f]{64}$"));
        await screenshots.TakeAsync(visitor, "notice");
    }
}
