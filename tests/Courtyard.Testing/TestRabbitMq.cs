using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Courtyard.Testing;

/// <summary>
/// The shared test RabbitMQ: COURTYARD_TEST_RABBITMQ (an AMQP URL) when set, otherwise the one scripts/rabbitmq.sh starts
/// on 127.0.0.1:5672 (at most once per process). Use it as an xunit collection fixture; tests isolate themselves with
/// unique names (<see cref="UniqueName"/>) and fault tests stop and start the broker.
/// </summary>
public sealed class TestRabbitMq : Xunit.IAsyncLifetime
{
    private static readonly Lazy<Task<string>> SharedUrl = new(FindOrStartAsync);

    public string Url { get; private set; } = "";

    public async Task InitializeAsync() => Url = await UrlAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>The broker's URL, starting it first when nobody configured one.</summary>
    public static Task<string> UrlAsync() => SharedUrl.Value;

    /// <summary>A name no other test (or earlier run) uses, such as <c>test.flow.3f2a…</c>.</summary>
    public static string UniqueName(string test) => $"test.{test}.{Guid.NewGuid():N}";

    /// <summary>Stops the local broker (scripts/rabbitmq.sh stop): an outage for every test using it.</summary>
    public static Task StopBrokerAsync() => TestScripts.RunAsync("rabbitmq.sh", "stop");

    /// <summary>Starts the local broker again and waits until it is ready.</summary>
    public static Task StartBrokerAsync() => TestScripts.RunAsync("rabbitmq.sh", "start");

    /// <summary>Messages waiting in <paramref name="queue"/> (0 if it does not exist).</summary>
    public async Task<uint> CountMessagesAsync(string queue)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(Url) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (OperationInterruptedException)
        {
            return 0;
        }
    }

    /// <summary>Removes a test's queues and exchanges, best effort (their names are unique anyway).</summary>
    public async Task DeleteQueuesAndExchangesAsync(IEnumerable<string> queues, IEnumerable<string> exchanges)
    {
        try
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(Url) }.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            foreach (var queue in queues)
            {
                await channel.QueueDeleteAsync(queue);
            }
            foreach (var exchange in exchanges)
            {
                await channel.ExchangeDeleteAsync(exchange);
            }
        }
        catch (Exception)
        {
            // Best effort clean-up: a leftover with a unique name disturbs no other test.
        }
    }

    private static async Task<string> FindOrStartAsync() =>
        Environment.GetEnvironmentVariable("COURTYARD_TEST_RABBITMQ") is { Length: > 0 } configured
            ? configured
            : await TestScripts.RunAsync("rabbitmq.sh", "start");
}
