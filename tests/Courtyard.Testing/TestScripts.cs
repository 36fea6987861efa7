namespace Courtyard.Testing;

/// <summary>The repository's scripts/*.sh that start the local servers tests share.</summary>
internal static class TestScripts
{
    // Generous: a first start may install the server with apt-get.
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    /// <summary>Runs <c>bash scripts/&lt;script&gt; &lt;verb&gt;</c> and returns the last line it printed (the start verbs print the server's address).</summary>
    public static async Task<string> RunAsync(string script, string verb)
    {
        var result = await ChildProcess.RunToEndAsync("bash", [Path.Combine("scripts", script), verb], RepositoryRoot.Path, Timeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/{script} {verb} failed ({result.ExitCode}): {result.StandardError}");
        }
        return result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
    }
}
