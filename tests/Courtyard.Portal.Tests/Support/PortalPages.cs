using Microsoft.Playwright;

namespace Courtyard.Portal.Tests.Support;

/// <summary>What a person does on the portal again and again, as they would do it: by labels and button names.</summary>
public static class PortalPages
{
    public static async Task SignInAsync(this IPage page, string login, string password)
    {
        await page.GotoAsync("/account/sign-in");
        await page.GetByLabel("手机号或登录名").FillAsync(login);
        await page.GetByLabel("密码").FillAsync(password);
        await page.Locator("main").GetByRole(AriaRole.Button, new() { Name = "登录" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToContainTextAsync("您好");
    }

    /// <summary>The text of the success message on the page (role=status), or fails.</summary>
    public static ILocator Status(this IPage page) => page.Locator(".message-ok");

    public static ILocator Alert(this IPage page) => page.GetByRole(AriaRole.Alert);

    public static async Task<string> ReceiptNumberAsync(this IPage page) =>
        (await page.Locator(".receipt dd code").First.InnerTextAsync()).Trim();
}
