using Microsoft.Extensions.Configuration;

namespace Courtyard.ServiceDefaults.Tests.Orleans;

/// <summary>Courtyard:Orleans:* as an operator writes it, and the mistakes that must stop a process with a clear message.</summary>
public sealed class SiloSettingsTests
{
    private static readonly ServiceOptions Councils = ServiceOptions.From(new ConfigurationBuilder().Build(), "councils");

    private static SiloSettings Read(Dictionary<string, string?> settings) =>
        SiloSettings.From(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), Councils);

    [Fact]
    public void By_default_a_service_is_its_own_cluster_on_localhost_on_a_free_silo_port_without_a_gateway()
    {
        var settings = Read([]);

        Assert.Equal(("councils", "councils"), (settings.ServiceId, settings.ClusterId));
        Assert.Equal(ClusteringKind.Localhost, settings.Clustering);
        Assert.Equal((0, 0), (settings.SiloPort, settings.GatewayPort));
        Assert.Equal(System.Net.IPAddress.Loopback, settings.AdvertisedAddress);
        Assert.Equal("localhost", settings.Description);
    }

    [Fact]
    public void Redis_clustering_reads_its_connection_string_and_never_shows_the_password()
    {
        var settings = Read(new()
        {
            ["Courtyard:Orleans:Clustering"] = "redis",
            ["Courtyard:Orleans:RedisConnectionString"] = "127.0.0.1:6390,password=s3cret",
            ["Courtyard:Orleans:ClusterId"] = "councils-blue",
            ["Courtyard:Orleans:SiloPort"] = "11112",
        });

        Assert.Equal(ClusteringKind.Redis, settings.Clustering);
        Assert.Equal(("councils", "councils-blue", 11112), (settings.ServiceId, settings.ClusterId, settings.SiloPort));
        Assert.StartsWith("redis 127.0.0.1:6390", settings.Description);
        Assert.DoesNotContain("s3cret", settings.Description);
    }

    [Fact]
    public void In_a_Kubernetes_pod_the_pod_decides_the_address_and_the_silo_port_is_the_customary_one()
    {
        var settings = Read(new() { [SiloSettings.KubernetesVariable] = "10.96.0.1" });

        Assert.True(settings.InKubernetes);
        Assert.Null(settings.AdvertisedAddress);
        Assert.Equal(11111, settings.SiloPort);
    }

    [Theory]
    [InlineData("Courtyard:Orleans:Clustering", "consul", "Courtyard:Orleans:Clustering (Courtyard__Orleans__Clustering) \"consul\" is not one of localhost, redis")]
    [InlineData("Courtyard:Orleans:Clustering", "redis", "Courtyard:Orleans:Clustering is redis but Courtyard:Orleans:RedisConnectionString (Courtyard__Orleans__RedisConnectionString) is empty")]
    [InlineData("Courtyard:Orleans:RedisConnectionString", "127.0.0.1:6379", "Courtyard:Orleans:RedisConnectionString is set but Courtyard:Orleans:Clustering is localhost")]
    [InlineData("Courtyard:Orleans:SiloPort", "eleven", "Courtyard:Orleans:SiloPort (Courtyard__Orleans__SiloPort) must be a whole number between 0 and 65535 (got \"eleven\")")]
    [InlineData("Courtyard:Orleans:AdvertisedAddress", "councils-0", "\"councils-0\" is not an IP address")]
    public void A_wrong_setting_is_refused_naming_it_in_both_languages(string key, string value, string expected)
    {
        var error = Assert.Throws<ServiceStartupException>(() => Read(new() { [key] = value }));

        Assert.StartsWith("配置有误", error.Message);
        Assert.Contains(expected, error.Message);
    }
}
