using Courtyard.Storage.Tests.Grains;
using Courtyard.Testing;

namespace Courtyard.Storage.Tests;

/// <summary>
/// SIGKILL a process whose silo is writing through our grain storage, then read everything back through a new silo:
/// every write a caller saw acknowledged is there, and a state and its outbox rows were never split.
/// </summary>
public abstract class GrainCrashTests : IAsyncLifetime
{
    protected abstract TestDatabase CreateDatabase();

    protected TestDatabase Database { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Database = CreateDatabase();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Database.DisposeAsync();

    [Fact]
    public async Task After_the_silo_process_is_killed_every_acknowledged_grain_write_is_there_with_exactly_its_outbox_rows()
    {
        var acknowledged = new Dictionary<string, long>();
        await using (var worker = ChildProcess.StartTestWorker("Courtyard.Storage.Tests.Worker", ["grain-crash-writer", .. await Database.TargetAsync()]))
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (worker.LineCount < 3000 && !worker.HasExited && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.False(worker.HasExited, "the worker stopped by itself: " + worker.StandardError);
            Assert.True(worker.LineCount >= 3000, $"only {worker.LineCount} grain writes acknowledged in 120 s: {worker.StandardError}");
            await worker.KillAsync();
            foreach (var line in worker.Lines)
            {
                if (line.Split(' ') is ["ack", var key, var count] && long.TryParse(count, out var n))
                    acknowledged[key] = Math.Max(n, acknowledged.GetValueOrDefault(key));
            }
        }
        Assert.True(acknowledged.Count > 100, $"acknowledged keys: {acknowledged.Count}");

        ILookup<string, string> outbox;
        await using (var storage = await Database.OpenAsync())
            outbox = (await storage.Outbox.ReadUnsentAsync(1_000_000)).ToLookup(r => r.CourtyardId, r => r.Payload);
        await using var silo = await TestSilo.StartAsync(() => Task.Run(() => Database.OpenAsync()).GetAwaiter().GetResult());
        for (var k = 0; k < 200; k++)
        {
            var key = "k" + k;
            var stored = await silo.Grains.GetGrain<ICounterGrain>(key).Get();
            Assert.True(stored >= acknowledged.GetValueOrDefault(key), $"{key}: acknowledged count {acknowledged.GetValueOrDefault(key)} but stored {stored}");
            Assert.Equal(stored.ToString(), await silo.Grains.GetGrain<ICounterGrain>(key).ETag() ?? "0");
            // State and outbox rows commit together: one event per stored version, none beyond it.
            Assert.Equal(Enumerable.Range(1, (int)stored).Select(n => $"{key}:{n}"), outbox[key].OrderBy(p => long.Parse(p[(p.IndexOf(':') + 1)..])));
        }
    }
}

public sealed class SqliteGrainCrashTests : GrainCrashTests
{
    protected override TestDatabase CreateDatabase() => TestDatabase.Sqlite();
}

public sealed class PostgresGrainCrashTests : GrainCrashTests
{
    protected override TestDatabase CreateDatabase() => TestDatabase.Postgres();
}
