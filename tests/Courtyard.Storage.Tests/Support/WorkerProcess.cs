using System.Diagnostics;

namespace Courtyard.Storage.Tests.Support;

/// <summary>A running Courtyard.Storage.Tests.Worker whose stdout lines the test collects as they come.</summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process process;
    private readonly List<string> lines = [];
    private readonly List<string> errors = [];

    private WorkerProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (lines) lines.Add(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (errors) errors.Add(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static WorkerProcess Start(params string[] arguments)
    {
        // The worker is built next to this project with the same configuration (bin/<Configuration>/net10.0).
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var dll = Path.Combine(RepositoryRoot.Path, "tests", "Courtyard.Storage.Tests.Worker", "bin", configuration, "net10.0",
            "Courtyard.Storage.Tests.Worker.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("Build tests/Courtyard.Storage.Tests.Worker first", dll);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return new WorkerProcess(Process.Start(start)!);
    }

    public string[] Lines
    {
        get
        {
            lock (lines) return lines.ToArray();
        }
    }

    public int LineCount
    {
        get
        {
            lock (lines) return lines.Count;
        }
    }

    public string Errors
    {
        get
        {
            lock (errors) return string.Join('\n', errors);
        }
    }

    public bool HasExited => process.HasExited;

    /// <summary>SIGKILL: no finally blocks, no flushing, no disposal - the closest a test gets to pulling the plug.</summary>
    public async Task KillAsync()
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.Dispose();
    }
}
