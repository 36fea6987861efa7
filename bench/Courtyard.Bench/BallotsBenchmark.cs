// Ballots benchmark: `dotnet run -c Release --project bench/Courtyard.Bench -- ballots [--seconds 5] [--courtyards 1000]
//   [--households 20] [--prior 5000] [--samples 300] [--storage sqlite|postgres] [--out FILE]`.
// Councils end to end: Grpc.Net.Client → the Councils service (Grpc.AspNetCore, JWT-authorized) → the vote grain
// (Orleans, event-sourced) → its journal in the embedded default's SQLite file (or PostgreSQL), acknowledged only once
// committed. (1) Acknowledged ballots/s and p50/p99 at 1, 32 and 256 concurrent voters spread over --courtyards
// courtyards, each with one open vote. (2) The cost of one ballot with 10 and with --prior ballots already cast in one
// vote (sequential, --samples each): the event-sourced vote must not pay for the ballots before it. Figures of record:
// bench/README.md.
using System.Diagnostics;
using System.Text.Json;
using Courtyard.Councils.Tests;
using Courtyard.Councils.V1;
using Courtyard.Testing;
using Courtyard.Testing.Services;

public static class BallotsBenchmark
{
    private static readonly int[] VoterCounts = [1, 32, 256];

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = double.Parse(Option(args, "--seconds") ?? "5");
        var courtyards = int.Parse(Option(args, "--courtyards") ?? "1000");
        var households = int.Parse(Option(args, "--households") ?? "20");
        var prior = int.Parse(Option(args, "--prior") ?? "5000");
        var samples = int.Parse(Option(args, "--samples") ?? "300");
        var output = Option(args, "--out") ?? Path.Combine(RepositoryRoot.Path, "bench", "results", "councils.json");
        var machine = BenchMachine.Describe();
        Console.WriteLine($"Ballots benchmark on {machine["cpu"]} ({machine["cores"]} cores), {machine["memory"]}, {machine["os"]}, {machine["dotnet"]}");

        var storage = Option(args, "--storage") == "postgres" ? TestStorage.Postgres : TestStorage.Sqlite;
        await using var host = await CouncilsTestHost.StartAsync(storage: storage);
        Console.WriteLine($"seeding {courtyards} courtyards × {households} households, one open vote each…");
        var votes = new (TestCourtyard Courtyard, Vote Vote)[courtyards];
        await Parallel.ForEachAsync(Enumerable.Range(0, courtyards), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var courtyard = await TestCourtyard.SeedAsync(host, $"cy_bench_{i:D5}", households);
            votes[i] = (courtyard, await OpenAsync(host, courtyard));
        });
        // One signed call option per (courtyard, household), made before timing: token signing is the caller's cost, not ours.
        var callers = votes.Select(v => v.Courtyard.Households.Select((_, h) => v.Courtyard.Owner(h)).ToArray()).ToArray();

        var rows = new List<object>();
        Console.WriteLine($"{"voters",7} {"ballots/s",10} {"p50 ms",8} {"p99 ms",8}");
        foreach (var voters in VoterCounts)
        {
            await Measure(host, votes, callers, voters, TimeSpan.FromSeconds(Math.Min(1, seconds)));  // warm-up
            var (count, elapsed, latencies) = await Measure(host, votes, callers, voters, TimeSpan.FromSeconds(seconds));
            var row = new { voters, ballotsPerSecond = count / elapsed.TotalSeconds, p50Ms = Percentile(latencies, 0.50), p99Ms = Percentile(latencies, 0.99) };
            rows.Add(row);
            Console.WriteLine($"{voters,7} {row.ballotsPerSecond,10:F0} {row.p50Ms,8:F2} {row.p99Ms,8:F2}");
        }

        Console.WriteLine($"ballot cost at 10 and at {prior} prior ballots in one vote…");
        var big = await TestCourtyard.SeedAsync(host, "cy_bench_big", prior + samples * 2 + 20);
        var bigVote = await OpenAsync(host, big);
        await Cast(host, big, bigVote, 0, 10, parallel: 1);
        var atTen = await Timed(host, big, bigVote, 10, samples);
        await Cast(host, big, bigVote, 10 + samples, prior - 10, parallel: 64);
        var atPrior = await Timed(host, big, bigVote, 10 + samples + prior - 10, samples);
        var ratio = Percentile(atPrior, 0.5) / Percentile(atTen, 0.5);
        Console.WriteLine($"median ms per ballot: {Percentile(atTen, 0.5):F3} at 10 prior, {Percentile(atPrior, 0.5):F3} at {prior} prior (× {ratio:F2})");
        Console.WriteLine($"load average at start {machine["loadAverageAtStart"]}, at end {BenchMachine.LoadAverage()} (on {machine["cores"]} cores)");

        var results = new
        {
            benchmark = "ballots",
            date = DateTimeOffset.UtcNow,
            machine,
            storage = storage == TestStorage.Postgres ? "PostgreSQL (Courtyard.Storage journal)" : "SQLite (Courtyard.Storage journal, the embedded default)",
            secondsPerCell = seconds,
            courtyards,
            householdsPerCourtyard = households,
            throughput = rows,
            ballotCost = new { priorSmall = 10, priorLarge = prior, medianMsAtSmall = Percentile(atTen, 0.5), medianMsAtLarge = Percentile(atPrior, 0.5), ratio },
            targets = new { ballotsPerSecondAt256 = 5000, p99MsAt256 = 25, costRatioMax = 1.5 },
        };
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static async Task<Vote> OpenAsync(CouncilsTestHost host, TestCourtyard courtyard)
    {
        var proposal = await host.Client.TableProposalAsync(new TableProposalRequest
        {
            RequestId = "bench-" + courtyard.Id, CourtyardId = courtyard.Id, Title = "基准测试议题", Body = "benchmark", Effect = new ProposalEffect { General = new() },
            Ballot = new BallotDesign { Rule = VoteRule.SimpleMajority, Electorate = Electorate.PerHousehold },
        }, courtyard.Member);
        return await host.Client.OpenVoteAsync(new OpenVoteRequest
        {
            RequestId = "bench-open-" + courtyard.Id, CourtyardId = courtyard.Id, ProposalId = proposal.Id,
            ClosesAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)),
        }, courtyard.Member);
    }

    /// <summary>Voters each cast ballots back to back (a new request each time, so each is a real change) until the time is up.</summary>
    private static async Task<(long Count, TimeSpan Elapsed, double[] LatenciesMs)> Measure(
        CouncilsTestHost host, (TestCourtyard Courtyard, Vote Vote)[] votes, Grpc.Core.CallOptions[][] callers, int voters, TimeSpan duration)
    {
        var latencies = new List<double>[voters];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, voters).Select(async voter =>
        {
            var mine = latencies[voter] = new List<double>(4096);
            var random = new Random(voter);
            while (clock.Elapsed < duration)
            {
                var courtyard = random.Next(votes.Length);
                var household = random.Next(votes[courtyard].Courtyard.Households.Length);
                var started = Stopwatch.GetTimestamp();
                await host.Client.CastBallotAsync(new CastBallotRequest
                {
                    RequestId = Guid.NewGuid().ToString("N"), CourtyardId = votes[courtyard].Courtyard.Id, VoteId = votes[courtyard].Vote.Id,
                    VoterId = votes[courtyard].Courtyard.Households[household].Id, Choice = (BallotChoice)random.Next(1, 4),
                }, callers[courtyard][household]);
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }));
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return (all.Length, clock.Elapsed, all);
    }

    private static Task Cast(CouncilsTestHost host, TestCourtyard courtyard, Vote vote, int from, int count, int parallel) =>
        Parallel.ForEachAsync(Enumerable.Range(from, count), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (household, _) =>
            await host.Client.CastBallotAsync(new CastBallotRequest
            {
                RequestId = Guid.NewGuid().ToString("N"), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = courtyard.Households[household].Id, Choice = BallotChoice.For,
            }, courtyard.Owner(household)));

    private static async Task<double[]> Timed(CouncilsTestHost host, TestCourtyard courtyard, Vote vote, int from, int count)
    {
        var options = Enumerable.Range(from, count).Select(courtyard.Owner).ToArray();
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await host.Client.CastBallotAsync(new CastBallotRequest
            {
                RequestId = Guid.NewGuid().ToString("N"), CourtyardId = courtyard.Id, VoteId = vote.Id, VoterId = courtyard.Households[from + i].Id, Choice = BallotChoice.Against,
            }, options[i]);
            times[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        return [.. times.Order()];
    }

    private static double Percentile(double[] sorted, double fraction) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(fraction * sorted.Length))];

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}
