using Courtyard.Portal.Tests.Support;
using Microsoft.Playwright;

namespace Courtyard.Portal.Tests.Pages;

/// <summary>Chinese first with an English switch that is remembered; large text one tap away; both without JavaScript too.</summary>
public sealed class PreferencesTests : IAsyncLifetime
{
    private PortalHost host = default!;
    private Chromium chromium = default!;

    public async Task InitializeAsync()
    {
        host = await PortalHost.StartAsync();
        chromium = await Chromium.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await chromium.DisposeAsync();
        await host.DisposeAsync();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Chinese_first_and_the_English_switch_is_remembered(bool javaScript)
    {
        var page = await chromium.OpenAsync(host.HttpAddress, javaScript: javaScript);
        await page.GotoAsync("/account/sign-in");
        Assert.Equal("zh-CN", await page.Locator("html").GetAttributeAsync("lang"));
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("登录");

        await page.GetByRole(AriaRole.Button, new() { Name = "English" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Sign in");
        Assert.EndsWith("/account/sign-in", page.Url);

        // Another page, and a later visit: still English.
        await page.GotoAsync("/join");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Join with an invitation code");
        Assert.Equal("en", await page.Locator("html").GetAttributeAsync("lang"));

        await page.GetByRole(AriaRole.Button, new() { Name = "中文" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("用邀请码加入");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Large_text_is_one_tap_away_and_stays_on(bool javaScript)
    {
        var page = await chromium.OpenAsync(host.HttpAddress, javaScript: javaScript);
        await page.GotoAsync("/join");
        double normal = await RootFontSizeAsync(page);

        await page.GetByRole(AriaRole.Button, new() { Name = "大字" }).ClickAsync();
        await Assertions.Expect(page.Locator("html")).ToHaveClassAsync("large-text");
        double large = await RootFontSizeAsync(page);
        Assert.True(large >= normal * 1.2, $"large text {large}px is not much larger than {normal}px");

        await page.GotoAsync("/account/sign-in");
        Assert.Equal(large, await RootFontSizeAsync(page));
        await page.GetByRole(AriaRole.Button, new() { Name = "大字：开" }).ClickAsync();
        await Assertions.Expect(page.Locator("html")).Not.ToHaveClassAsync("large-text");
        Assert.Equal(normal, await RootFontSizeAsync(page));
    }

    /// <summary>The root font size once the page's stylesheet has loaded: without JavaScript each tap loads a new page.</summary>
    private static async Task<double> RootFontSizeAsync(IPage page)
    {
        await page.WaitForLoadStateAsync(LoadState.Load);
        return await page.EvaluateAsync<double>("() => parseFloat(getComputedStyle(document.documentElement).fontSize)");
    }
}
