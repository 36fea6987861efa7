using System.Diagnostics;
using System.Text.Json;

namespace Courtyard.Grpc.Tests.Interop;

/// <summary>Where things are: the repository root (found by walking up to Platform.sln) and the Node peer's folder.</summary>
public static class InteropPaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Platform.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No Platform.sln above {AppContext.BaseDirectory}.");
    });

    public static string RepositoryRoot => Root.Value;

    public static string NodePeerDirectory => Path.Combine(RepositoryRoot, "tests", "Interop");
}

/// <summary>
/// The @grpc/grpc-js packages of tests/Interop, installed once per process with `npm ci` when node_modules is missing
/// (CI runs `npm ci --prefix tests/Interop` itself).
/// </summary>
public static class NodePackages
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    public static async Task EnsureInstalledAsync()
    {
        string directory = InteropPaths.NodePeerDirectory;
        await InstallLock.WaitAsync();
        try
        {
            if (System.IO.Directory.Exists(Path.Combine(directory, "node_modules", "@grpc", "grpc-js")))
            {
                return;
            }
            var result = await PeerProcess.RunToEndAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], directory, TimeSpan.FromMinutes(5));
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci in {directory} failed ({result.ExitCode}): {result.StandardError}");
            }
        }
        finally
        {
            InstallLock.Release();
        }
    }
}

/// <summary>
/// A child process that speaks JSON lines on stdout (a Node peer, or the bench's own server). Its stdin stays open
/// while this object lives: the peers exit when stdin closes, so a crashed test run never leaves one behind.
/// </summary>
public sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<JsonElement> _lines = new();
    private readonly Lock _linesLock = new();
    private readonly System.Text.StringBuilder _standardError = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PeerProcess(Process process)
    {
        _process = process;
    }

    public string StandardError
    {
        get
        {
            lock (_linesLock)
            {
                return _standardError.ToString();
            }
        }
    }

    public static PeerProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var peer = new PeerProcess(process);
        process.OutputDataReceived += (_, e) => peer.OnOutputLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (peer._linesLock)
                {
                    peer._standardError.AppendLine(e.Data);
                }
            }
        };
        process.Exited += (_, _) => peer._exited.TrySetResult();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    /// <summary>Every JSON line printed so far (non-JSON lines are ignored).</summary>
    public IReadOnlyList<JsonElement> Lines
    {
        get
        {
            lock (_linesLock)
            {
                return _lines.ToArray();
            }
        }
    }

    /// <summary>Waits for the first line that <paramref name="match"/> accepts; throws with stderr if the process dies or time runs out.</summary>
    public async Task<JsonElement> WaitForLineAsync(Func<JsonElement, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var line in Lines)
            {
                if (match(line))
                {
                    return line;
                }
            }
            if (_exited.Task.IsCompleted)
            {
                throw new InvalidOperationException($"{_process.StartInfo.FileName} exited ({_process.ExitCode}) before printing the expected line. stderr: {StandardError}");
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{_process.StartInfo.FileName} printed no expected line within {timeout}. stderr: {StandardError}");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Waits for the {"port":N} line that servers print once they listen.</summary>
    public async Task<int> WaitForPortAsync(TimeSpan timeout)
    {
        var line = await WaitForLineAsync(l => l.ValueKind == JsonValueKind.Object && l.TryGetProperty("port", out _), timeout);
        return line.GetProperty("port").GetInt32();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // Already gone.
        }
        if (await Task.WhenAny(_exited.Task, Task.Delay(TimeSpan.FromSeconds(5))) != _exited.Task)
        {
            _process.Kill(entireProcessTree: true);
            await _exited.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }
        _process.Dispose();
    }

    /// <summary>Runs a command to its end and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunToEndAsync(
        string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        process.StandardInput.Close();
        var standardOutput = process.StandardOutput.ReadToEndAsync();
        var standardError = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} ran longer than {timeout}. stdout so far: {await standardOutput}");
        }
        return (process.ExitCode, await standardOutput, await standardError);
    }

    private void OnOutputLine(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || !text.TrimStart().StartsWith('{'))
        {
            return;
        }
        try
        {
            using var document = JsonDocument.Parse(text);
            lock (_linesLock)
            {
                _lines.Add(document.RootElement.Clone());
            }
        }
        catch (JsonException)
        {
            // Not one of ours: a peer may log other things.
        }
    }
}
