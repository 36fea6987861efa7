using System.Runtime.InteropServices;

/// <summary>
/// What every benchmark records about the machine it ran on. The load average matters as much as the CPU model:
/// these machines are shared, and a busy neighbour moves absolute figures far more than the code does.
/// </summary>
internal static class BenchMachine
{
    public static Dictionary<string, string> Describe() => new()
    {
        ["cores"] = Environment.ProcessorCount.ToString(),
        ["cpu"] = ProcField("/proc/cpuinfo", "model name"),
        ["memory"] = ProcField("/proc/meminfo", "MemTotal"),
        ["os"] = RuntimeInformation.OSDescription,
        ["dotnet"] = RuntimeInformation.FrameworkDescription,
        ["gc"] = System.Runtime.GCSettings.IsServerGC ? "server" : "workstation",
        ["loadAverageAtStart"] = LoadAverage(),
    };

    /// <summary>The 1, 5 and 15 minute load averages, e.g. "2.41 3.25 4.99".</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string ProcField(string file, string prefix)
    {
        try
        {
            return File.ReadLines(file).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
