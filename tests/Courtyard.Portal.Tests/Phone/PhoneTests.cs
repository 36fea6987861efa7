using Courtyard.Portal.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Courtyard.Portal.Tests.Phone;

/// <summary>
/// The resident's path on a 360 × 740 phone screen (the demo courtyard): every page fits the width (nothing to scroll
/// sideways), every control can be reached and used with the keyboard alone, and every page passes axe-core.
/// </summary>
public sealed class PhoneTests : IAsyncLifetime
{
    private PortalHost host = default!;
    private Chromium chromium = default!;
    private readonly Screenshots screenshots = new(nameof(PhoneTests));

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
    public async Task A_resident_walks_the_path_on_a_360_pixel_phone_with_the_keyboard_alone()
    {
        var resident = host.DemoAccount("household_representative");
        var page = await chromium.OpenAsync(host.HttpAddress, width: 360, height: 740);

        // Sign in with the keyboard: tab to each field, type, Enter.
        await page.GotoAsync("/account/sign-in");
        await CheckAsync(page, "sign-in");
        await TabToAsync(page, "#login");
        await page.Keyboard.TypeAsync(resident.Login);
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync(resident.Password);
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("h1")).ToContainTextAsync("您好");
        await CheckAsync(page, "home");

        await page.GetByRole(AriaRole.Link, new() { Name = "议题" }).ClickAsync();
        await CheckAsync(page, "proposals");
        await page.Locator(".card a").First.ClickAsync();
        await CheckAsync(page, "proposal");

        // Vote with the keyboard: focus the first choice, arrow to "反对", Space, tab to the button, Enter.
        await page.GotoAsync("/");
        await page.GetByRole(AriaRole.Link, new() { Name = "去投票" }).First.ClickAsync();
        await CheckAsync(page, "vote");
        await TabToAsync(page, "input[value=for]");
        await page.Keyboard.PressAsync("ArrowDown");
        await Expect(page.GetByLabel("反对")).ToBeCheckedAsync();
        await TabToAsync(page, ".ballot-form button");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Status()).ToContainTextAsync("您的投票已记录");
        await CheckAsync(page, "vote-receipt");
        await page.GetByRole(AriaRole.Link, new() { Name = "保存或打印回执" }).ClickAsync();
        await CheckAsync(page, "receipt");

        await page.GotoAsync("/results");
        await CheckAsync(page, "results");
        await page.GetByRole(AriaRole.Link, new() { Name = "查看公示" }).First.ClickAsync();
        await CheckAsync(page, "notice");
        await page.GetByRole(AriaRole.Link, new() { Name = "公示栏" }).Last.ClickAsync();
        await CheckAsync(page, "notice-board");

        // Large text, one tap away, still fits.
        await page.GetByRole(AriaRole.Button, new() { Name = "大字" }).ClickAsync();
        await Expect(page.Locator("html")).ToHaveClassAsync("large-text");
        await CheckAsync(page, "notice-board-large-text");
    }

    private async Task CheckAsync(IPage page, string step)
    {
        int overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"{step}: the page is {overflow}px wider than the 360px screen");
        await Accessibility.AssertNoSeriousViolationsAsync(page, step);
        await screenshots.TakeAsync(page, step);
    }

    /// <summary>Presses Tab until <paramref name="selector"/> has the focus, and checks the focus can be seen.</summary>
    private static async Task TabToAsync(IPage page, string selector)
    {
        for (int presses = 0; presses < 60; presses++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await page.EvaluateAsync<bool>("s => document.activeElement?.matches(s) ?? false", selector))
            {
                string outline = await page.EvaluateAsync<string>("() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth; }");
                Assert.False(outline.StartsWith("none", StringComparison.Ordinal), $"{selector} has the focus but no visible outline ({outline})");
                return;
            }
        }
        Assert.Fail($"{selector} cannot be reached with the Tab key");
    }
}
