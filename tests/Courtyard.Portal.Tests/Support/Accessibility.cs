using System.Text.Json;
using Courtyard.Testing;
using Microsoft.Playwright;

namespace Courtyard.Portal.Tests.Support;

/// <summary>
/// axe-core (the npm package in this folder, installed by scripts/test.sh with <c>npm ci</c>) injected into a page:
/// WCAG 2.1 A and AA rules plus axe's best practices. A page passes when no violation is serious or critical.
/// </summary>
public static class Accessibility
{
    private static readonly Lazy<string> Script = new(() =>
    {
        string path = Path.Combine(RepositoryRoot.Path, "tests", "Courtyard.Portal.Tests", "node_modules", "axe-core", "axe.min.js");
        return File.Exists(path) ? File.ReadAllText(path)
            : throw new InvalidOperationException($"{path} is missing: run `npm ci --prefix tests/Courtyard.Portal.Tests` (scripts/test.sh does).");
    });

    /// <summary>Fails the test naming every serious or critical violation on the page as it is now.</summary>
    public static async Task AssertNoSeriousViolationsAsync(IPage page, string what)
    {
        await page.AddScriptTagAsync(new PageAddScriptTagOptions { Content = Script.Value });
        string json = await page.EvaluateAsync<string>("""
            async () => {
              const results = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
              return JSON.stringify(results.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '')) })));
            }
            """);
        var violations = JsonSerializer.Deserialize<List<Violation>>(json, JsonOptions) ?? [];
        Assert.True(violations.Count == 0,
            $"axe-core found serious or critical violations on {what} ({page.Url}):\n" +
            string.Join("\n", violations.Select(v => $"- {v.Impact} {v.Id}: {v.Help}\n    " + string.Join("\n    ", v.Nodes))));
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    private sealed record Violation(string Id, string Impact, string Help, List<string> Nodes);
}
