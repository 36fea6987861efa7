using Courtyard.ServiceDefaults;

namespace Platform.Host;

/// <summary>What the command line decides. Port 0 means "any free port" (tests use it).</summary>
public sealed record HostSettings(
    int GrpcPort = ServiceOptions.DefaultGrpcPort,
    int HttpPort = ServiceOptions.DefaultHttpPort,
    string DataDir = HostSettings.DefaultDataDir)
{
    public const string DefaultDataDir = "./.data";
}
