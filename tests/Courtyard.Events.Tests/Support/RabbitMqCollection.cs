using Courtyard.Testing;

namespace Courtyard.Events.Tests.Support;

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<TestRabbitMq>
{
    // One at a time: the outage test stops the broker that every RabbitMQ test uses.
    public const string Name = "rabbitmq";
}

public static class RabbitMqCleanup
{
    /// <summary>Removes a test's exchange, the companions RabbitMqTransport declares for it ("{exchange}.dead-letter", "{exchange}.unrouted") and the given queues.</summary>
    public static Task DeleteAsync(this TestRabbitMq broker, string exchange, params string[] queues) =>
        broker.DeleteQueuesAndExchangesAsync([.. queues, exchange + ".unrouted"], [exchange, exchange + ".dead-letter", exchange + ".unrouted"]);
}
