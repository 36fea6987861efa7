using Courtyard.ServiceDefaults;

namespace Platform.Host;

/// <summary>What the command line decides. Port 0 means "any free port" (tests use it). <see cref="Demo"/>: seed the demo.</summary>
public sealed record HostSettings(
    int GrpcPort = ServiceOptions.DefaultGrpcPort,
    int HttpPort = ServiceOptions.DefaultHttpPort,
    string DataDir = HostSettings.DefaultDataDir,
    bool Demo = false)
{
    public const string DefaultDataDir = "./.data";
}
