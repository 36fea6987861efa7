using Courtyard.Testing;
using Microsoft.Playwright;

namespace Courtyard.Portal.Tests.Support;

/// <summary>
/// Screenshots kept as test artifacts: artifacts/screenshots/&lt;test&gt;/&lt;nn-step&gt;.png under the repository root
/// (ignored by git; CI keeps the folder). The portal README names the folder.
/// </summary>
public sealed class Screenshots(string test)
{
    public static string Folder { get; } = Path.Combine(RepositoryRoot.Path, "artifacts", "screenshots");

    private int count;

    public async Task<string> TakeAsync(IPage page, string step)
    {
        string folder = Path.Combine(Folder, test);
        System.IO.Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, $"{Interlocked.Increment(ref count):00}-{step}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }
}
