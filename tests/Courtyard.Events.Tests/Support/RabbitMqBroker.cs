using System.Diagnostics;
using RabbitMQ.Client;

namespace Courtyard.Events.Tests.Support;

/// <summary>
/// The shared local RabbitMQ (scripts/rabbitmq.sh, 127.0.0.1:5672). COURTYARD_TEST_RABBITMQ carries its URL; when unset,
/// the fixture starts it with the script. Tests isolate themselves with a unique exchange (and so unique queues).
/// </summary>
public sealed class RabbitMqBroker : IAsyncLifetime
{
    public string Url { get; private set; } = "";

    public static string UniqueExchange(string test) => $"test.{test}.{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        Url = Environment.GetEnvironmentVariable("COURTYARD_TEST_RABBITMQ") is { Length: > 0 } url ? url : (await RunScriptAsync("start")).Trim().Split('\n').Last();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public static async Task<string> RunScriptAsync(string verb)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot.Path, "scripts", "rabbitmq.sh"));
        start.ArgumentList.Add(verb);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/rabbitmq.sh {verb} failed ({process.ExitCode}): {await errors}");
        }
        return await output;
    }

    /// <summary>Messages waiting in <paramref name="queue"/> (0 if it does not exist).</summary>
    public async Task<uint> CountMessagesAsync(string queue)
    {
        var factory = new ConnectionFactory { Uri = new Uri(Url) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            var ok = await channel.QueueDeclarePassiveAsync(queue);
            return ok.MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }

    /// <summary>Removes the test's exchanges and queues.</summary>
    public async Task DeleteAsync(string exchange, params string[] queues)
    {
        try
        {
            var factory = new ConnectionFactory { Uri = new Uri(Url) };
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            foreach (var queue in queues.Append(exchange + ".unrouted"))
            {
                await channel.QueueDeleteAsync(queue);
            }
            foreach (var name in new[] { exchange, exchange + ".dead-letter", exchange + ".unrouted" })
            {
                await channel.ExchangeDeleteAsync(name);
            }
        }
        catch (Exception)
        {
            // Best effort clean-up: names are unique per test anyway.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqBroker>
{
    // One at a time: the outage test stops the broker that every RabbitMQ test uses.
    public const string Name = "rabbitmq";
}
