using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace Courtyard.ServiceDefaults;

/// <summary>How the co-hosted silo finds its cluster: local only, or through Redis.</summary>
public enum ClusteringKind
{
    /// <summary>One silo, membership kept in this process (the embedded host).</summary>
    Localhost,

    /// <summary>Membership in Redis: several processes of one service form one cluster.</summary>
    Redis,
}

/// <summary>
/// The Orleans settings of a service, read from "Courtyard:Orleans" (environment <c>Courtyard__Orleans__…</c>):
/// ServiceId and ClusterId (default: the service name), the silo and gateway ports, and the clustering.
/// </summary>
public sealed record SiloSettings
{
    public const string Section = "Courtyard:Orleans";

    /// <summary>Set by Kubernetes in every container: the silo then uses Orleans' Kubernetes hosting.</summary>
    public const string KubernetesVariable = "KUBERNETES_SERVICE_HOST";

    public required string ServiceId { get; init; }
    public required string ClusterId { get; init; }

    /// <summary>The silo-to-silo port. 0 (the default outside Kubernetes) takes a free port when the silo is configured.</summary>
    public required int SiloPort { get; init; }

    /// <summary>The port Orleans clients outside the cluster connect to; 0 (the default): no gateway, as no service calls another's grains.</summary>
    public required int GatewayPort { get; init; }

    public required ClusteringKind Clustering { get; init; }

    /// <summary>StackExchange.Redis configuration ("127.0.0.1:6379"), for <see cref="ClusteringKind.Redis"/>.</summary>
    public ConfigurationOptions? Redis { get; init; }

    /// <summary>Running in a Kubernetes pod: pod name, IP and labels come from Orleans' Kubernetes hosting.</summary>
    public required bool InKubernetes { get; init; }

    /// <summary>The address other silos reach this one at (127.0.0.1 for processes on one machine); null in Kubernetes (the pod IP).</summary>
    public IPAddress? AdvertisedAddress { get; init; }

    /// <summary>"localhost", or "redis 127.0.0.1:6379" (without a password), for logs and the status page.</summary>
    public string Description => Clustering == ClusteringKind.Localhost ? "localhost" : $"redis {Redis!.ToString(includePassword: false)}";

    public static SiloSettings From(IConfiguration configuration, ServiceOptions service)
    {
        var section = configuration.GetSection(Section);
        bool inKubernetes = !string.IsNullOrEmpty(configuration[KubernetesVariable]);
        string clustering = section["Clustering"]?.Trim().ToLowerInvariant() ?? "";
        string? redis = section["RedisConnectionString"];
        var kind = clustering switch
        {
            "" or "localhost" => ClusteringKind.Localhost,
            "redis" => ClusteringKind.Redis,
            _ => throw new ServiceStartupException(
                $"配置有误：{Section}:Clustering 只能是 localhost 或 redis（当前为 \"{clustering}\"）。\n" +
                $"Configuration error: {Section}:Clustering (Courtyard__Orleans__Clustering) \"{clustering}\" is not one of localhost, redis."),
        };
        ConfigurationOptions? redisOptions = null;
        if (kind == ClusteringKind.Redis)
        {
            if (string.IsNullOrWhiteSpace(redis))
            {
                throw new ServiceStartupException(
                    $"配置有误：使用 redis 集群时必须设置 {Section}:RedisConnectionString。\n" +
                    $"Configuration error: {Section}:Clustering is redis but {Section}:RedisConnectionString (Courtyard__Orleans__RedisConnectionString) is empty.");
            }
            try
            {
                redisOptions = ConfigurationOptions.Parse(redis);
            }
            catch (ArgumentException e)
            {
                throw new ServiceStartupException(
                    $"配置有误：{Section}:RedisConnectionString 无法解析：{e.Message}\n" +
                    $"Configuration error: {Section}:RedisConnectionString is not a Redis configuration string: {e.Message}", e);
            }
        }
        else if (!string.IsNullOrWhiteSpace(redis))
        {
            throw new ServiceStartupException(
                $"配置有误：设置了 {Section}:RedisConnectionString，但集群方式是 localhost。\n" +
                $"Configuration error: {Section}:RedisConnectionString is set but {Section}:Clustering is localhost. " +
                "Set Courtyard__Orleans__Clustering=redis, or remove the connection string.");
        }
        string? advertised = section["AdvertisedAddress"];
        return new SiloSettings
        {
            ServiceId = NonEmpty(section["ServiceId"]) ?? service.ServiceName,
            ClusterId = NonEmpty(section["ClusterId"]) ?? service.ServiceName,
            SiloPort = ServiceOptions.Port(section, "SiloPort", inKubernetes ? 11111 : 0),
            GatewayPort = ServiceOptions.Port(section, "GatewayPort", 0),
            Clustering = kind,
            Redis = redisOptions,
            InKubernetes = inKubernetes,
            AdvertisedAddress = NonEmpty(advertised) is { } text
                ? IPAddress.TryParse(text, out var address) ? address : throw new ServiceStartupException(
                    $"配置有误：{Section}:AdvertisedAddress \"{text}\" 不是 IP 地址。\n" +
                    $"Configuration error: {Section}:AdvertisedAddress (Courtyard__Orleans__AdvertisedAddress) \"{text}\" is not an IP address.")
                : inKubernetes ? null : IPAddress.Loopback,
        };
    }

    /// <summary>A port no one listens on now (the OS picks it), for <see cref="SiloPort"/> 0.</summary>
    internal static int FreePort(IPAddress address)
    {
        using var probe = new TcpListener(address, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}
