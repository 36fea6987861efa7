using Courtyard.Storage.Tests.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;

namespace Courtyard.Storage.Tests;

/// <summary>Orleans reminders kept in our storage (CourtyardReminderTable), through real silos.</summary>
public abstract class ReminderTests : IAsyncLifetime
{
    protected abstract TestDatabase CreateDatabase();

    protected TestDatabase Database { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Database = CreateDatabase();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Database.DisposeAsync();

    private Func<IStorageProvider> Open(string name = "service") => () => Task.Run(() => Database.OpenAsync(name: name)).GetAwaiter().GetResult();

    [Fact]
    public async Task A_reminder_that_fell_due_while_the_silo_was_down_fires_after_the_restart()
    {
        var probe = GrainId.Create("tests.reminder-probe", "vote-closing");
        await using (var silo = await TestSilo.StartAsync(Open()))
        {
            await silo.Grains.GetGrain<IReminderProbeGrain>("vote-closing").Register("close", TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
        }
        var downSince = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(4));   // due at +2 s: it falls due while no silo runs

        await using (var silo = await TestSilo.StartAsync(Open()))
        {
            var restarted = DateTime.UtcNow;
            var deadline = restarted.AddSeconds(30);
            while (!silo.Ticks.Received.Any(t => t.Grain == probe && t.Name == "close"))
            {
                Assert.True(DateTime.UtcNow < deadline, "the reminder that fell due during the downtime never fired after the restart");
                await Task.Delay(100);
            }
            var tick = silo.Ticks.Received.First(t => t.Grain == probe);
            Assert.True(tick.At >= restarted && tick.At > downSince.AddSeconds(2));
            // It is the stored registration that fired: the row is there, in the service's own database.
            await using var storage = await Database.OpenAsync();
            Assert.NotNull(await storage.Reminders.ReadRow(probe, "close"));
            await silo.Grains.GetGrain<IReminderProbeGrain>("vote-closing").Unregister("close");
            Assert.Null(await storage.Reminders.ReadRow(probe, "close"));
        }
    }
}

public sealed class SqliteReminderTests : ReminderTests
{
    protected override TestDatabase CreateDatabase() => TestDatabase.Sqlite();

    [Fact]
    public async Task In_a_silo_holding_several_services_each_grains_reminders_live_in_its_own_services_database()
    {
        var storages = new Dictionary<string, Func<IStorageProvider>>
        {
            [TestStorage.Name] = () => Task.Run(() => Database.OpenAsync(name: "tests")).GetAwaiter().GetResult(),
            ["rules"] = () => Task.Run(() => Database.OpenAsync(name: "rules")).GetAwaiter().GetResult(),
        };
        await using (var silo = await TestSilo.StartAsync(storages))
        {
            await silo.Grains.GetGrain<IReminderProbeGrain>("a").Register("tick", TimeSpan.FromHours(1), TimeSpan.FromHours(1));
            await silo.Grains.GetGrain<IRulesReminderProbeGrain>("b").Register("tick", TimeSpan.FromHours(1), TimeSpan.FromHours(1));
            var table = silo.Services.GetRequiredService<IReminderTable>();
            Assert.Equal(2, (await table.ReadRows(0, 0)).Reminders.Count);   // a range read answers from every database
        }

        await using var tests = await Database.OpenAsync(name: "tests");
        await using var rules = await Database.OpenAsync(name: "rules");
        Assert.Equal(["tests.reminder-probe/a"], (await tests.Reminders.ReadRows(0, 0)).Reminders.Select(r => r.GrainId.ToString()));
        Assert.Equal(["rules.reminder-probe/b"], (await rules.Reminders.ReadRows(0, 0)).Reminders.Select(r => r.GrainId.ToString()));
    }
}

public sealed class ReminderRoutingTests
{
    private static CourtyardReminderTable Table(params string[] storages) =>
        new(new ServiceCollection().BuildServiceProvider(), storages.Select(name => new CourtyardStorageRegistration(name)));

    [Fact]
    public void A_grain_type_prefix_names_its_services_storage_and_with_one_storage_everything_goes_there()
    {
        var embedded = Table("councils", "rules", "volunteers");
        Assert.Equal("councils", embedded.StorageOf(GrainId.Create("councils.vote", "v1")));
        Assert.Equal("rules", embedded.StorageOf(GrainId.Create("rules.rulebook", "r1")));
        var unknown = Assert.Throws<InvalidOperationException>(() => embedded.StorageOf(GrainId.Create("projects.bid", "b1")));
        Assert.Contains("projects.bid", unknown.Message);

        var alone = Table("councils");
        Assert.Equal("councils", alone.StorageOf(GrainId.Create("councils.vote", "v1")));
        Assert.Equal("councils", alone.StorageOf(GrainId.Create("unprefixed", "x")));
    }
}

public sealed class PostgresReminderTests : ReminderTests
{
    protected override TestDatabase CreateDatabase() => TestDatabase.Postgres();
}
