using System.Net;
using Microsoft.Extensions.Configuration;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// Where a service listens and keeps its files, read from the "Courtyard" configuration section
/// (environment: <c>Courtyard__GrpcPort</c>, <c>Courtyard__HttpPort</c>, <c>Courtyard__ListenAddress</c>, <c>Courtyard__DataDir</c>).
/// </summary>
public sealed record ServiceOptions
{
    public const string Section = "Courtyard";
    public const int DefaultGrpcPort = 5100;
    public const int DefaultHttpPort = 5180;

    /// <summary>Cleartext HTTP/2 (h2c) port for gRPC. 0 picks a free port (see <see cref="ServiceEndpoints"/>).</summary>
    public int GrpcPort { get; init; } = DefaultGrpcPort;

    /// <summary>HTTP/1.1 port for Dapr callbacks, the portal and the status page. 0 picks a free port.</summary>
    public int HttpPort { get; init; } = DefaultHttpPort;

    /// <summary>127.0.0.1 by default; 0.0.0.0 in a container so probes and other pods can reach it.</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Loopback;

    /// <summary>Folder for SQLite files and other local state (absolute).</summary>
    public string DataDir { get; init; } = Path.GetFullPath(".data");

    /// <summary>The service's stable name: names its SQLite file and is the default telemetry name.</summary>
    public string ServiceName { get; init; } = "courtyard";

    /// <summary>
    /// Name reported to telemetry: OTEL_SERVICE_NAME when set, else <see cref="ServiceName"/>. Kept apart from
    /// ServiceName because that one names the service's files: renaming a dashboard must never open an empty database.
    /// </summary>
    public string TelemetryName { get; init; } = "courtyard";

    public static ServiceOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var defaults = new ServiceOptions();
        string? address = section["ListenAddress"];
        string? dataDir = section["DataDir"];
        return new ServiceOptions
        {
            GrpcPort = section.GetValue("GrpcPort", DefaultGrpcPort),
            HttpPort = section.GetValue("HttpPort", DefaultHttpPort),
            ListenAddress = string.IsNullOrWhiteSpace(address) ? defaults.ListenAddress : IPAddress.Parse(address),
            DataDir = string.IsNullOrWhiteSpace(dataDir) ? defaults.DataDir : Path.GetFullPath(dataDir),
            ServiceName = section["ServiceName"] ?? defaults.ServiceName,
            TelemetryName = configuration["OTEL_SERVICE_NAME"] ?? section["ServiceName"] ?? defaults.ServiceName,
        };
    }
}
