using Microsoft.Playwright;

namespace Courtyard.Portal.Tests.Support;

/// <summary>
/// Debian's Chromium (/usr/bin/chromium, installed by scripts/test.sh), driven by Microsoft.Playwright — never a browser
/// Playwright downloads. Each person is a browser of their own: a persistent context with a fresh profile folder, so
/// two residents and a committee member never share a cookie.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly string[] Flags =
    [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    ];

    private readonly IPlaywright playwright;
    private readonly List<(IBrowserContext Context, string Profile)> people = [];

    private Chromium(IPlaywright playwright) => this.playwright = playwright;

    public static async Task<Chromium> StartAsync()
    {
        // A loaded CI machine: wait up to 15 s for what a person would see (Playwright's default is 5 s).
        Assertions.SetDefaultExpectTimeout(15_000);
        return new(await Playwright.CreateAsync());
    }

    /// <summary>A person with their own browser: 1024 × 900 unless told otherwise; JavaScript on unless told otherwise.</summary>
    public async Task<IPage> OpenAsync(Uri baseAddress, int width = 1024, int height = 900, bool javaScript = true)
    {
        string profile = Path.Combine(Path.GetTempPath(), "courtyard-portal-tests", "profile-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(profile);
        var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = Flags,
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            JavaScriptEnabled = javaScript,
            Locale = "zh-CN",
            TimezoneId = "Asia/Shanghai",
        });
        context.SetDefaultTimeout(30_000);
        people.Add((context, profile));
        return context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (context, profile) in people)
        {
            await context.CloseAsync();
            try
            {
                System.IO.Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
                // Chromium may still be writing its profile as it exits; a temp folder left behind is harmless.
            }
        }
        playwright.Dispose();
    }
}
