using System.Diagnostics;
using Courtyard.Testing;

namespace Courtyard.Grains.Tests;

/// <summary>Real worker processes (tests/Courtyard.Grains.Tests.Worker) on real databases.</summary>
public sealed class MultiProcessTests
{
    private const string Worker = "Courtyard.Grains.Tests.Worker";

    [Fact]
    public async Task Two_processes_incrementing_one_key_on_one_PostgreSQL_database_never_lose_an_update()
    {
        const int perProcess = 200;
        var database = await TestPostgres.CreateDatabaseAsync();
        try
        {
            // Both start incrementing at the same moment (after their start-up), so their writes interleave.
            var startAt = DateTimeOffset.UtcNow.AddSeconds(8).ToUnixTimeMilliseconds().ToString();
            await using var first = ChildProcess.StartTestWorker(Worker, ["increment", "postgres", database, "courtyard-7", perProcess.ToString(), startAt]);
            await using var second = ChildProcess.StartTestWorker(Worker, ["increment", "postgres", database, "courtyard-7", perProcess.ToString(), startAt]);

            var done = await Task.WhenAll(first.WaitForLineAsync("done", TimeSpan.FromSeconds(120)), second.WaitForLineAsync("done", TimeSpan.FromSeconds(120)));

            await using var storage = await WorkerStorageForTests.OpenAsync("postgres", database);
            Assert.Equal(2 * perProcess, await WorkerStorageForTests.ReadWorkerCountAsync(storage, "courtyard-7"));
            Assert.All(done, line => Assert.StartsWith($"done {perProcess}", line));
            // The processes really contended: some writes hit a version conflict and were retried after a reload.
            var conflicts = done.Sum(line => int.Parse(line.Split("conflicts=")[1]));
            Assert.True(conflicts > 0, $"no conflicts: {string.Join(" / ", done)}");
        }
        finally
        {
            await TestPostgres.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task A_reminder_due_while_its_process_was_down_fires_after_restart()
    {
        var file = Path.Combine(Path.GetTempPath(), $"grains-reminder-{Guid.NewGuid():N}.db");
        var connection = file;
        try
        {
            await using (var registering = ChildProcess.StartTestWorker(Worker, ["remind", "sqlite", connection, "vote-9", "close-vote", "3"]))
            {
                await registering.WaitForLineAsync("registered", TimeSpan.FromSeconds(60));
                await registering.KillAsync();   // down before the reminder is due
            }
            await Task.Delay(TimeSpan.FromSeconds(4));   // the reminder falls due while no process runs

            var restarted = Stopwatch.StartNew();
            await using var serving = ChildProcess.StartTestWorker(Worker, ["serve", "sqlite", connection]);
            var fired = await serving.WaitForLineAsync("fired", TimeSpan.FromSeconds(30));

            var parts = fired.Split(' ');
            Assert.Equal(("vote-9", "close-vote"), (parts[1], parts[2]));
            Assert.True(DateTimeOffset.Parse(parts[4]) > DateTimeOffset.Parse(parts[3]));
            // Bounded delay after restart: process start-up plus one poll interval (200 ms), well under 15 s here.
            Assert.True(restarted.Elapsed < TimeSpan.FromSeconds(15), $"fired {restarted.Elapsed} after restart");
        }
        finally
        {
            foreach (var path in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(file) + "*")) File.Delete(path);
        }
    }
}
