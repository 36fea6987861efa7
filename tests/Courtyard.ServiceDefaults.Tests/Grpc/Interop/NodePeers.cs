using System.Text.Json;
using Courtyard.Testing;

namespace Courtyard.ServiceDefaults.Tests.Grpc.Interop;

/// <summary>
/// The Node peers of tests/Interop (server.js, client.js on @grpc/grpc-js), run with <see cref="ChildProcess"/>.
/// Their packages are installed once per process with `npm ci` when node_modules is missing (CI runs `npm ci --prefix tests/Interop` itself).
/// </summary>
public static class NodePeers
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    public static string Directory => Path.Combine(RepositoryRoot.Path, "tests", "Interop");

    public static async Task EnsureInstalledAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            if (System.IO.Directory.Exists(Path.Combine(Directory, "node_modules", "@grpc", "grpc-js")))
            {
                return;
            }
            var result = await ChildProcess.RunToEndAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], Directory, TimeSpan.FromMinutes(5));
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci in {Directory} failed ({result.ExitCode}): {result.StandardError}");
            }
        }
        finally
        {
            InstallLock.Release();
        }
    }

    /// <summary>Waits for the {"port":N} line that the peers (and the benchmark's own server) print once they listen.</summary>
    public static async Task<int> WaitForPortAsync(this ChildProcess server, TimeSpan within)
    {
        var line = await server.WaitForJsonLineAsync(json => json.TryGetProperty("port", out _), within);
        return line.GetProperty("port").GetInt32();
    }
}
