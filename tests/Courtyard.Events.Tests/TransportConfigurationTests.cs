using Courtyard.Events.Dapr;
using Courtyard.Events.Transports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Courtyard.Events.Tests;

/// <summary>The transport a service gets from its "Courtyard:Events" settings (environment Courtyard__Events__…).</summary>
public sealed class TransportConfigurationTests
{
    private static IConfiguration Settings(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    [Fact]
    public async Task Without_settings_the_transport_is_in_process()
    {
        await using var transport = EventsServiceCollectionExtensions.CreateTransport(Settings(), NullLoggerFactory.Instance);

        Assert.IsType<InProcessTransport>(transport);
    }

    [Fact]
    public async Task Dapr_and_its_pubsub_name_are_read_from_the_courtyard_events_section()
    {
        await using var transport = EventsServiceCollectionExtensions.CreateTransport(
            Settings(("Courtyard:Events:Transport", "Dapr"), ("Courtyard:Events:Dapr:PubSubName", "courtyard-pubsub")), NullLoggerFactory.Instance);

        var dapr = Assert.IsType<DaprTransport>(transport);
        Assert.Equal("courtyard-pubsub", dapr.Options.PubSubName);
    }

    [Fact]
    public async Task The_old_top_level_events_section_is_no_longer_read()
    {
        await using var transport = EventsServiceCollectionExtensions.CreateTransport(Settings(("Events:Transport", "dapr")), NullLoggerFactory.Instance);

        Assert.IsType<InProcessTransport>(transport);
    }

    [Fact]
    public void An_unknown_transport_is_refused_naming_the_setting_and_the_choices()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            EventsServiceCollectionExtensions.CreateTransport(Settings(("Courtyard:Events:Transport", "kafka")), NullLoggerFactory.Instance));

        Assert.Equal("Courtyard:Events:Transport \"kafka\" is not one of inproc, rabbitmq, dapr.", error.Message);
    }
}
