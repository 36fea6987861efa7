using System.Diagnostics;
using System.Threading.Channels;

namespace Courtyard.Events.Tests.Support;

/// <summary>A running tests/Courtyard.Events.Tests.Worker process whose stdout lines the test waits for.</summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly Channel<string> lines = Channel.CreateUnbounded<string>();
    private readonly List<string> seen = [];

    private WorkerProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is { } line) lines.Writer.TryWrite(line); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lines.Writer.TryWrite("stderr: " + line); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static WorkerProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;   // bin/<Configuration>/net10.0
        var dll = System.IO.Path.Combine(RepositoryRoot.Path, "tests", "Courtyard.Events.Tests.Worker", "bin", configuration, "net10.0",
            "Courtyard.Events.Tests.Worker.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("Build tests/Courtyard.Events.Tests.Worker first", dll);
        }
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        return new WorkerProcess(Process.Start(start)!);
    }

    /// <summary>Every line read so far.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            while (lines.Reader.TryRead(out var line))
            {
                seen.Add(line);
            }
            return seen;
        }
    }

    public bool HasExited => process.HasExited;

    /// <summary>Waits for a stdout line starting with <paramref name="prefix"/>.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            while (true)
            {
                var line = await lines.Reader.ReadAsync(timeout.Token);
                seen.Add(line);
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return line;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        throw new Xunit.Sdk.XunitException($"worker printed no \"{prefix}\" line within {within.TotalSeconds} s; output: {string.Join(" | ", seen.TakeLast(30))}");
    }

    public async Task WaitForExitAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        await process.WaitForExitAsync(timeout.Token);
    }

    public void Kill()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        process.WaitForExit();
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        process.Dispose();
        return ValueTask.CompletedTask;
    }
}
