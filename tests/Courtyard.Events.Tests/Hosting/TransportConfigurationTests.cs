using Courtyard.Events.Dapr;
using Courtyard.Events.Hosting;
using Courtyard.Events.Transports;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Courtyard.Events.Tests;

/// <summary>The transport a service gets from its "Courtyard:Events" settings (environment Courtyard__Events__…).</summary>
public sealed class TransportConfigurationTests
{
    private static ServiceProvider Services(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddEventTransport();
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Without_settings_the_transport_is_in_process()
    {
        await using var services = Services();

        Assert.IsType<InProcessTransport>(services.GetRequiredService<IEventTransport>());
    }

    [Fact]
    public async Task Dapr_and_its_pubsub_name_are_read_from_the_courtyard_events_section()
    {
        await using var services = Services(("Courtyard:Events:Transport", "Dapr"), ("Courtyard:Events:Dapr:PubSubName", "courtyard-pubsub"));

        var dapr = Assert.IsType<DaprTransport>(services.GetRequiredService<IEventTransport>());
        Assert.Equal("courtyard-pubsub", dapr.Options.PubSubName);
    }

    [Fact]
    public async Task RabbitMq_and_its_exchange_are_read_from_the_courtyard_events_section()
    {
        await using var services = Services(("Courtyard:Events:Transport", "rabbitmq"), ("Courtyard:Events:RabbitMq:Exchange", "councils.events"));

        var rabbit = Assert.IsType<RabbitMqTransport>(services.GetRequiredService<IEventTransport>());
        Assert.Equal("councils.events", rabbit.Options.Exchange);
    }

    [Fact]
    public async Task An_unknown_transport_is_refused_naming_the_setting_and_the_choices()
    {
        await using var services = Services(("Courtyard:Events:Transport", "kafka"));

        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IEventTransport>());

        Assert.Equal("Courtyard:Events:Transport \"kafka\" is not one of inproc, rabbitmq, dapr.", error.Message);
    }
}
