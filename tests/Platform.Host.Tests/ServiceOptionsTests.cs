using Courtyard.ServiceDefaults;
using Microsoft.Extensions.Configuration;

namespace Platform.Host.Tests;

public sealed class ServiceOptionsTests
{
    [Fact]
    public void Renaming_the_service_for_telemetry_keeps_its_name_in_the_cluster()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_SERVICE_NAME"] = "platform-canary",
        }).Build();

        var options = ServiceOptions.From(configuration, PlatformHost.ServiceName);

        Assert.Equal("platform", options.ServiceName);           // the Orleans ServiceId: the cluster stays the same
        Assert.Equal("platform-canary", options.TelemetryName);   // what dashboards show
    }
}
