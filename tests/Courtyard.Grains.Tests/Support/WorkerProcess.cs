using System.Diagnostics;
using System.Threading.Channels;

namespace Courtyard.Grains.Tests.Support;

/// <summary>A running Courtyard.Grains.Tests.Worker process whose stdout lines the test can wait for.</summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly Channel<string> lines = Channel.CreateUnbounded<string>();
    private readonly List<string> seen = [];

    private WorkerProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is { } line) lines.Writer.TryWrite(line); else lines.Writer.TryComplete(); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lines.Writer.TryWrite("stderr: " + line); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static WorkerProcess Start(params string[] arguments)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;   // bin/<Configuration>/net10.0
        var dll = Path.Combine(RepositoryRoot.Path, "tests", "Courtyard.Grains.Tests.Worker", "bin", configuration, "net10.0",
            "Courtyard.Grains.Tests.Worker.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("Build tests/Courtyard.Grains.Tests.Worker first", dll);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return new WorkerProcess(Process.Start(start)!);
    }

    public IReadOnlyList<string> Output => seen;

    /// <summary>Waits for a stdout line starting with <paramref name="prefix"/>.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            await foreach (var line in lines.Reader.ReadAllAsync(timeout.Token))
            {
                seen.Add(line);
                if (line.StartsWith(prefix, StringComparison.Ordinal)) return line;
            }
        }
        catch (OperationCanceledException)
        {
        }
        throw new Xunit.Sdk.XunitException($"worker printed no \"{prefix}\" line within {within.TotalSeconds} s; output: {string.Join(" | ", seen)}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    public void Kill()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        process.Dispose();
        return ValueTask.CompletedTask;
    }
}
