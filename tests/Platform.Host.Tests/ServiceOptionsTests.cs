using Courtyard.ServiceDefaults;
using Microsoft.Extensions.Configuration;

namespace Platform.Host.Tests;

public sealed class ServiceOptionsTests
{
    [Fact]
    public void Renaming_the_service_for_telemetry_keeps_its_database_file_name()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Courtyard:ServiceName"] = "councils",
            ["OTEL_SERVICE_NAME"] = "councils-canary",
        }).Build();

        var options = ServiceOptions.From(configuration);

        Assert.Equal("councils", options.ServiceName);          // names councils.db: the data stays where it was
        Assert.Equal("councils-canary", options.TelemetryName); // what dashboards show
    }
}
