using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Courtyard.Testing;

/// <summary>What a command run to its end left behind.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// A process a test starts (a worker exe, a Node peer, the host): its stdout lines are kept as they come, a test waits for
/// the line it needs, and the process is killed (SIGKILL, whole tree) on dispose whatever happened. Failures name the
/// process and quote its last stdout lines and its stderr. Stdin stays open while this object lives, so peers that exit
/// when their stdin closes never outlive a crashed test run. Free of xunit so the benchmarks can compile it in too.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private const int LinesQuotedInFailures = 30;

    private readonly Process process;
    private readonly Lock gate = new();
    private readonly List<string> lines = [];
    private readonly List<string> errors = [];
    private bool outputEnded;
    private TaskCompletionSource? outputChanged;

    private ChildProcess(Process process, string name)
    {
        this.process = process;
        Name = name;
    }

    /// <summary>Starts <paramref name="fileName"/>; an <paramref name="environment"/> value of null removes that variable.</summary>
    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = NewStartInfo(fileName, arguments, workingDirectory);
        foreach (var (variable, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(variable);
            }
            else
            {
                start.Environment[variable] = value;
            }
        }
        var process = new Process { StartInfo = start };
        var name = start.ArgumentList.Count > 0 ? $"{Path.GetFileName(fileName)} {Path.GetFileName(start.ArgumentList[0])}" : Path.GetFileName(fileName);
        var child = new ChildProcess(process, name);
        process.OutputDataReceived += (_, e) => child.OnOutputLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnErrorLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a built .NET program (<c>dotnet &lt;dll&gt;</c>).</summary>
    public static ChildProcess StartDotnet(string dll, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is not built", dll);
        }
        return Start("dotnet", [dll, .. arguments], environment: environment);
    }

    /// <summary>Runs tests/<paramref name="project"/>, built next to the running tests with the same configuration and framework.</summary>
    public static ChildProcess StartTestWorker(string project, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var output = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));   // bin/<Configuration>/<framework>
        var dll = Path.Combine(RepositoryRoot.Path, "tests", project, "bin", output.Parent!.Name, output.Name, project + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Build tests/{project} first", dll);
        }
        return StartDotnet(dll, arguments, environment);
    }

    /// <summary>Runs a command to its end (killed, with a <see cref="TimeoutException"/>, when it runs longer than <paramref name="timeout"/>).</summary>
    public static async Task<ProcessResult> RunToEndAsync(string fileName, IEnumerable<string> arguments, string? workingDirectory, TimeSpan timeout)
    {
        using var process = Process.Start(NewStartInfo(fileName, arguments, workingDirectory))
            ?? throw new InvalidOperationException($"Could not start {fileName}.");
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
        return new ProcessResult(process.ExitCode, await standardOutput, await standardError);
    }

    /// <summary>The program and its first argument, for messages.</summary>
    public string Name { get; }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    /// <summary>Every stdout line so far.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (gate)
            {
                return lines.ToArray();
            }
        }
    }

    public int LineCount
    {
        get
        {
            lock (gate)
            {
                return lines.Count;
            }
        }
    }

    /// <summary>Everything printed on stderr so far.</summary>
    public string StandardError
    {
        get
        {
            lock (gate)
            {
                return string.Join('\n', errors);
            }
        }
    }

    /// <summary>The first stdout line (since the start) beginning with <paramref name="prefix"/>.</summary>
    public Task<string> WaitForLineAsync(string prefix, TimeSpan within) =>
        WaitForLineAsync(line => line.StartsWith(prefix, StringComparison.Ordinal), within, $"a line starting with \"{prefix}\"");

    /// <summary>The first stdout line (since the start) that <paramref name="match"/> accepts.</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan within) => WaitForLineAsync(match, within, "the expected line");

    /// <summary>The first stdout line that is a JSON object <paramref name="match"/> accepts (other lines are passed over).</summary>
    public async Task<JsonElement> WaitForJsonLineAsync(Func<JsonElement, bool> match, TimeSpan within)
    {
        var line = await WaitForLineAsync(text => ParseJsonObject(text) is { } json && match(json), within, "the expected JSON line");
        return ParseJsonObject(line)!.Value;
    }

    /// <summary>Waits for the process to end by itself and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} still runs after {within.TotalSeconds:0.#} s.{Quote()}");
        }
        return process.ExitCode;
    }

    /// <summary>SIGKILL to the whole tree: no finally blocks, no flushing, no disposal - the closest a test gets to pulling the plug.</summary>
    public async Task KillAsync()
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        await process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: asks the process to shut down gracefully, as a container runtime would.</summary>
    public async Task TerminateAsync()
    {
        var result = await RunToEndAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)], null, TimeSpan.FromSeconds(10));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {process.Id} ({Name}) failed: {result.StandardError}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }

    private async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan within, string what)
    {
        var waited = Stopwatch.StartNew();
        var searched = 0;
        while (true)
        {
            Task changed;
            lock (gate)
            {
                for (; searched < lines.Count; searched++)
                {
                    if (match(lines[searched]))
                    {
                        return lines[searched];
                    }
                }
                if (outputEnded)
                {
                    break;
                }
                changed = (outputChanged ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            var left = within - waited.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{Name} printed no {what} within {within.TotalSeconds:0.#} s.{Quote()}");
            }
            await Task.WhenAny(changed, Task.Delay(left));
        }
        var exitCode = process.WaitForExit(TimeSpan.FromSeconds(5)) ? $" with exit code {process.ExitCode}" : "";
        throw new InvalidOperationException($"{Name} closed its output{exitCode} before printing {what}.{Quote()}");
    }

    private void OnOutputLine(string? line)
    {
        TaskCompletionSource? waiting;
        lock (gate)
        {
            if (line is null)
            {
                outputEnded = true;
            }
            else
            {
                lines.Add(line);
            }
            (waiting, outputChanged) = (outputChanged, null);
        }
        waiting?.TrySetResult();
    }

    private void OnErrorLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (gate)
        {
            errors.Add(line);
        }
    }

    private string Quote()
    {
        lock (gate)
        {
            return $"\nlast stdout lines:\n{string.Join('\n', lines.TakeLast(LinesQuotedInFailures))}\nstderr:\n{string.Join('\n', errors.TakeLast(LinesQuotedInFailures))}";
        }
    }

    private static JsonElement? ParseJsonObject(string line)
    {
        if (!line.TrimStart().StartsWith('{'))
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;   // not one of ours: a peer may log other things
        }
    }

    private static ProcessStartInfo NewStartInfo(string fileName, IEnumerable<string> arguments, string? workingDirectory)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        return start;
    }
}
