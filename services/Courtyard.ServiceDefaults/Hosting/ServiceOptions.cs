using System.Net;
using Microsoft.Extensions.Configuration;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// Who this process is, where it listens and where it keeps its files: the service name given to
/// <see cref="ServiceDefaultsExtensions.AddServiceDefaults"/> and the "Courtyard" configuration section
/// (environment: <c>Courtyard__GrpcPort</c>, <c>Courtyard__HttpPort</c>, <c>Courtyard__ListenAddress</c>, <c>Courtyard__DataDir</c>).
/// </summary>
public sealed record ServiceOptions
{
    public const string Section = "Courtyard";
    public const int DefaultGrpcPort = 5100;
    public const int DefaultHttpPort = 5180;

    /// <summary>The process's stable name ("councils", or "platform" for the embedded host): its telemetry name and its Orleans ServiceId.</summary>
    public required string ServiceName { get; init; }

    /// <summary>
    /// Name reported to telemetry: OTEL_SERVICE_NAME when set, else <see cref="ServiceName"/>. Kept apart from
    /// ServiceName because that one names the Orleans cluster: renaming a dashboard must never split a cluster.
    /// </summary>
    public required string TelemetryName { get; init; }

    /// <summary>Cleartext HTTP/2 (h2c) port for gRPC. 0 picks a free port (see <see cref="ServiceEndpoints"/>).</summary>
    public int GrpcPort { get; init; } = DefaultGrpcPort;

    /// <summary>HTTP/1.1 port for Dapr callbacks, the portal, /healthz and /metrics. 0 picks a free port.</summary>
    public int HttpPort { get; init; } = DefaultHttpPort;

    /// <summary>127.0.0.1 by default; 0.0.0.0 in a container so probes and other pods can reach it.</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Loopback;

    /// <summary>Folder for SQLite files and other local state (absolute).</summary>
    public string DataDir { get; init; } = Path.GetFullPath(".data");

    public static ServiceOptions From(IConfiguration configuration, string serviceName)
    {
        if (string.IsNullOrWhiteSpace(serviceName) || serviceName.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')))
        {
            throw new ArgumentException($"A service name is lower-case ASCII letters, digits and '-' (got \"{serviceName}\").", nameof(serviceName));
        }
        var section = configuration.GetSection(Section);
        string? address = section["ListenAddress"];
        string? dataDir = section["DataDir"];
        return new ServiceOptions
        {
            ServiceName = serviceName,
            TelemetryName = configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } telemetryName ? telemetryName : serviceName,
            GrpcPort = Port(section, "GrpcPort", DefaultGrpcPort),
            HttpPort = Port(section, "HttpPort", DefaultHttpPort),
            ListenAddress = string.IsNullOrWhiteSpace(address) ? IPAddress.Loopback
                : IPAddress.TryParse(address, out var parsed) ? parsed
                : throw new ServiceStartupException(
                    $"配置有误：Courtyard:ListenAddress \"{address}\" 不是 IP 地址。\n" +
                    $"Configuration error: Courtyard:ListenAddress (Courtyard__ListenAddress) \"{address}\" is not an IP address."),
            DataDir = Path.GetFullPath(string.IsNullOrWhiteSpace(dataDir) ? ".data" : dataDir),
        };
    }

    /// <summary>A port setting, 0–65535; anything else is a mistake a person must fix.</summary>
    internal static int Port(IConfiguration section, string key, int defaultPort)
    {
        string? text = section[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return defaultPort;
        }
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) && port <= 65535)
        {
            return port;
        }
        string path = section is IConfigurationSection s ? $"{s.Path}:{key}" : key;
        throw new ServiceStartupException(
            $"配置有误：{path} 必须是 0–65535 之间的整数（当前为 \"{text}\"）。\n" +
            $"Configuration error: {path} ({path.Replace(":", "__", StringComparison.Ordinal)}) must be a whole number between 0 and 65535 (got \"{text}\").");
    }
}
