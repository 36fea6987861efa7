using System.Collections.Concurrent;
using System.Diagnostics;
using Courtyard.Clustering.Tests.Worker;
using Grpc.Core;
using Xunit.Abstractions;

namespace Courtyard.Clustering.Tests;

/// <summary>
/// A service's grains across two of its processes, clustered through a real Redis (issue 7 §5): one activation per key
/// however many processes call it, and a key that moves when the process holding it is killed.
/// </summary>
public sealed class ClusteringTests(ITestOutputHelper output)
{
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task The_same_key_called_through_both_processes_at_once_counts_every_increment_on_one_activation()
    {
        await using var cluster = await ClusterOfTwo.StartAsync();
        string key = "courtyard-" + Guid.NewGuid().ToString("N")[..8];
        var replies = new ConcurrentBag<(string Via, IncrementReply Reply)>();

        await Task.WhenAll(IncrementAsync(cluster.First), IncrementAsync(cluster.Second));

        var values = replies.Select(r => r.Reply.Value).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 2000).Select(v => (long)v), values);   // 2,000 increments, none lost, none doubled
        Assert.Single(replies.Select(r => r.Reply.ActivationId).Distinct());       // one activation served them all
        Assert.Single(replies.Select(r => r.Reply.Silo).Distinct());
        Assert.Equal(1000, replies.Count(r => r.Via == cluster.First.Name));
        Assert.Equal(1000, replies.Count(r => r.Via == cluster.Second.Name));

        async Task IncrementAsync(ClusterOfTwo.Worker worker) =>
            await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, cancellation) =>
            {
                var reply = await worker.Counter.IncrementAsync(new IncrementRequest { Key = key }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellation);
                replies.Add((worker.Name, reply));
            });
    }

    [Fact]
    public async Task Killing_the_process_that_holds_a_key_moves_the_key_to_the_other_and_calls_fail_only_briefly()
    {
        await using var cluster = await ClusterOfTwo.StartAsync();
        string key = "courtyard-" + Guid.NewGuid().ToString("N")[..8];
        IncrementReply before = null!;
        for (int i = 0; i < 20; i++)
        {
            before = await (i % 2 == 0 ? cluster.First : cluster.Second).Counter.IncrementAsync(new IncrementRequest { Key = key }, deadline: DateTime.UtcNow.AddSeconds(30));
        }
        var holder = cluster.Holding(before.Silo);
        var survivor = cluster.Other(holder);
        Assert.True(survivor.Durable, "the worker keeps its grains in Courtyard.Storage on PostgreSQL");

        // One caller through the survivor, one call at a time, each with a deadline, as a portal would call.
        var calls = new ConcurrentQueue<Call>();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var caller = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var started = clock.Elapsed;
                try
                {
                    var reply = await survivor.Counter.IncrementAsync(new IncrementRequest { Key = key }, deadline: DateTime.UtcNow.Add(CallDeadline));
                    calls.Enqueue(new Call(started, clock.Elapsed, reply, null));
                }
                catch (RpcException e)
                {
                    calls.Enqueue(new Call(started, clock.Elapsed, null, e.StatusCode));
                    await Task.Delay(20);
                }
            }
        });
        await WaitForAsync(() => calls.Count(c => c.Reply is not null) >= 20, "20 increments through the survivor before the kill");

        await holder.KillAsync();   // returns once the process is gone
        var killedAt = clock.Elapsed;
        await WaitForAsync(() => calls.Any(c => c.Reply is not null && c.Started > killedAt && c.Reply.Silo == survivor.Silo),
            "an increment served by the survivor's own silo after the kill", TimeSpan.FromSeconds(90));
        await WaitForAsync(() => calls.Count(c => c.Started > killedAt && c.Reply is not null) >= 5, "five more increments after the failover");
        await stop.CancelAsync();
        await caller;

        var all = calls.ToList();
        long acknowledgedBeforeKill = all.Where(c => c.Reply is not null && c.Ended <= killedAt).Max(c => c.Reply!.Value);
        var lastBeforeKill = all.Last(c => c.Reply is not null && c.Ended <= killedAt);
        var firstAfter = all.First(c => c.Started > killedAt && c.Reply is not null);
        var failed = all.Where(c => c.Reply is null).ToList();
        var window = firstAfter.Ended - killedAt;
        output.WriteLine($"holder {holder}, survivor {survivor}");
        output.WriteLine($"from SIGKILL to the first increment served again: {window.TotalSeconds:F2} s; " +
            $"{failed.Count} calls failed ({string.Join(", ", failed.GroupBy(c => c.Status).Select(g => $"{g.Count()} {g.Key}"))}); " +
            $"value before {acknowledgedBeforeKill}, first after {firstAfter.Reply!.Value}; load average {File.ReadAllText("/proc/loadavg").Trim()}");

        Assert.Equal(survivor.Silo, firstAfter.Reply.Silo);
        Assert.NotEqual(lastBeforeKill.Reply!.ActivationId, firstAfter.Reply.ActivationId);
        Assert.All(failed, c => Assert.True(c.Status is StatusCode.Unavailable or StatusCode.DeadlineExceeded, $"a call failed with {c.Status}"));
        // Measured here: 1.2–1.9 s with the tuned membership (1 s probes, 2 misses), 11.9–13.1 s with Orleans' defaults
        // (5 s probes, 3 misses), at load 10–14 on 2 cores. The bound tells the two apart and allows for a loaded machine.
        Assert.True(window < TimeSpan.FromSeconds(8), $"calls failed for {window.TotalSeconds:F1} s after the kill");
        // Nothing acknowledged is lost: the survivor reloads the count from storage. At most one call was in flight when
        // the holder died, so at most one unacknowledged increment can have committed.
        Assert.InRange(firstAfter.Reply.Value, acknowledgedBeforeKill + 1, acknowledgedBeforeKill + 2);
    }

    private static async Task WaitForAsync(Func<bool> condition, string what, TimeSpan? within = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > (within ?? TimeSpan.FromSeconds(60)))
            {
                Assert.Fail($"Not within {(within ?? TimeSpan.FromSeconds(60)).TotalSeconds} s: {what}");
            }
            await Task.Delay(20);
        }
    }

    private sealed record Call(TimeSpan Started, TimeSpan Ended, IncrementReply? Reply, StatusCode? Status);
}
