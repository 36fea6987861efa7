using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Courtyard.Testing;

namespace Courtyard.Events.Tests.Support;

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<TestRabbitMq>
{
    // One at a time: the outage test stops the broker that every RabbitMQ test uses.
    public const string Name = "rabbitmq";
}

public static class RabbitMqTestBroker
{
    /// <summary>Removes a test's exchange and the given queues.</summary>
    public static Task DeleteAsync(this TestRabbitMq broker, string exchange, params string[] queues) =>
        broker.DeleteQueuesAndExchangesAsync(queues, [exchange]);

    public static async Task<bool> QueueExistsAsync(this TestRabbitMq broker, string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(broker.Url) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclarePassiveAsync(queue);
            return true;
        }
        catch (OperationInterruptedException)
        {
            return false;
        }
    }

    /// <summary>Redeclaring a queue with other arguments fails (406): declaring it as a quorum queue succeeds only if it is one.</summary>
    public static async Task<bool> IsQuorumQueueAsync(this TestRabbitMq broker, string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(broker.Url) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
                new Dictionary<string, object?> { ["x-queue-type"] = "quorum" });
            return true;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            return false;
        }
    }
}
