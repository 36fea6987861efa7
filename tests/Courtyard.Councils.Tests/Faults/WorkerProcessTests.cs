using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Courtyard.Councils.V1;
using Courtyard.Testing;
using Grpc.Core;
using Grpc.Net.Client;

namespace Courtyard.Councils.Tests.Faults;

/// <summary>
/// Councils in worker processes (tests/Courtyard.Councils.Tests.Worker): the harness for the SIGKILL and two-process tests.
/// Those two need the platform's durable storage and reminders (the worker's storage is interim, in memory) and are
/// skipped until it lands; their bodies are the tests to run then.
/// </summary>
public sealed class WorkerProcessTests
{
    private const string NeedsDurableStorage =
        "Needs the platform's durable storage and reminders in the worker (storage engineer); the worker's storage is in memory until then.";

    private readonly TestTokens tokens = new();

    [Fact]
    public async Task A_ballot_cast_through_a_worker_process_gets_its_receipt()
    {
        var courtyard = "cy_worker";
        await using var worker = await StartWorkerAsync(courtyard, cluster: "councils-worker-" + Guid.NewGuid().ToString("N")[..8]);
        using var channel = GrpcChannel.ForAddress(worker.Address);
        var client = new Councils.V1.Councils.CouncilsClient(channel);
        var vote = await OpenVoteAsync(client, courtyard);
        var receipt = await client.CastBallotAsync(new CastBallotRequest
        {
            RequestId = "r1", CourtyardId = courtyard, VoteId = vote.Id, VoterId = $"hh_{courtyard}_0001", Choice = BallotChoice.For,
        }, tokens.As($"rs_{courtyard}_0001_o", $"resident:{courtyard}"));
        Assert.Equal(1, receipt.Revision);
    }

    [Fact(Skip = NeedsDurableStorage)]
    public async Task Every_acknowledged_ballot_survives_a_SIGKILL_during_a_storm()
    {
        var courtyard = "cy_sigkill";
        var cluster = "councils-kill-" + Guid.NewGuid().ToString("N")[..8];
        var receipts = new ConcurrentDictionary<string, BallotReceipt>();
        Vote vote;
        await using (var worker = await StartWorkerAsync(courtyard, cluster))
        {
            using var channel = GrpcChannel.ForAddress(worker.Address);
            var client = new Councils.V1.Councils.CouncilsClient(channel);
            vote = await OpenVoteAsync(client, courtyard);
            using var storm = new CancellationTokenSource();
            var voting = Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = storm.Token }, async (i, _) =>
            {
                try
                {
                    var receipt = await client.CastBallotAsync(new CastBallotRequest
                    {
                        RequestId = $"storm-{i}", CourtyardId = courtyard, VoteId = vote.Id, VoterId = $"hh_{courtyard}_{i:D4}", Choice = BallotChoice.For,
                    }, tokens.As($"rs_{courtyard}_{i:D4}_o", $"resident:{courtyard}"));
                    receipts[receipt.BallotId] = receipt;
                }
                catch (RpcException) { }  // in flight when the process died: not acknowledged, so not owed
            });
            await Eventually.HoldsAsync(() => receipts.Count >= 200, TimeSpan.FromSeconds(30), "200 ballots acknowledged");
            await worker.Process.KillAsync();
            try { await voting; } catch (OperationCanceledException) { }
        }
        await using (var restarted = await StartWorkerAsync(courtyard, cluster))
        {
            using var channel = GrpcChannel.ForAddress(restarted.Address);
            var client = new Councils.V1.Councils.CouncilsClient(channel);
            var stored = await client.ListBallotsAsync(new ListBallotsRequest
            {
                CourtyardId = courtyard, VoteId = vote.Id, IncludeSuperseded = true, Page = new Common.V1.PageRequest { PageSize = 500 },
            }, tokens.As($"rs_{courtyard}_chair", $"committee_chair:{courtyard}"));
            Assert.Empty(receipts.Keys.Except(stored.Ballots.Select(b => b.Id)));
        }
    }

    /// <summary>
    /// Two workers clustered through a Redis of the test's own serve one courtyard during a storm sent through both:
    /// one activation of the vote, so the tally read through either equals a recount of the stored ballots. (Orleans'
    /// in-memory storage is itself a grain of the cluster, so this runs before durable storage lands.)
    /// </summary>
    [Fact]
    public async Task Two_workers_clustered_through_Redis_serve_one_courtyard_and_the_tally_equals_the_recount()
    {
        var courtyard = "cy_redis";
        var redisPort = FreePort();
        var redisDir = System.IO.Directory.CreateTempSubdirectory("councils-redis-");
        await ChildProcess.RunToEndAsync("redis-server",
            ["--port", $"{redisPort}", "--bind", "127.0.0.1", "--daemonize", "yes", "--dir", redisDir.FullName, "--save", ""], null, TimeSpan.FromSeconds(10));
        try
        {
            var cluster = "councils-redis-" + Guid.NewGuid().ToString("N")[..8];
            await using var first = await StartWorkerAsync(courtyard, cluster, $"127.0.0.1:{redisPort}");
            await using var second = await StartWorkerAsync(courtyard, cluster, $"127.0.0.1:{redisPort}", seed: false);
            using var firstChannel = GrpcChannel.ForAddress(first.Address);
            using var secondChannel = GrpcChannel.ForAddress(second.Address);
            var clients = new[] { new Councils.V1.Councils.CouncilsClient(firstChannel), new Councils.V1.Councils.CouncilsClient(secondChannel) };
            var vote = await OpenVoteAsync(clients[0], courtyard);

            var random = new Random(2);
            var plan = Enumerable.Range(0, 1000).Select(i => (household: i, choice: (BallotChoice)random.Next(1, 4), again: (BallotChoice)random.Next(1, 4))).ToList();
            await Parallel.ForEachAsync(plan, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (step, _) =>
            {
                var caller = tokens.As($"rs_{courtyard}_{step.household:D4}_o", $"resident:{courtyard}");
                foreach (var (choice, through) in new[] { (step.choice, step.household % 2), (step.again, (step.household + 1) % 2) })
                    await clients[through].CastBallotAsync(new CastBallotRequest
                    {
                        RequestId = Guid.NewGuid().ToString("N"), CourtyardId = courtyard, VoteId = vote.Id, VoterId = $"hh_{courtyard}_{step.household:D4}", Choice = choice,
                    }, caller);
            });

            var chair = tokens.As($"rs_{courtyard}_chair", $"committee_chair:{courtyard}");
            var counted = new List<Ballot>();
            var page = new ListBallotsRequest { CourtyardId = courtyard, VoteId = vote.Id, Page = new Common.V1.PageRequest { PageSize = 500 } };
            do
            {
                var reply = await clients[1].ListBallotsAsync(page, chair);
                counted.AddRange(reply.Ballots);
                page.Page.PageToken = reply.Page.NextPageToken;
            } while (page.Page.PageToken.Length > 0);
            Assert.Equal(plan.Select(p => p.again).Count(c => c == BallotChoice.For), counted.Count(b => b.Choice == BallotChoice.For));
            foreach (var client in clients)
            {
                var tally = await client.GetTallyAsync(new GetTallyRequest { CourtyardId = courtyard, VoteId = vote.Id }, chair);
                Assert.Equal(2000, tally.Sequence);
                Assert.Equal(counted.Count(b => b.Choice == BallotChoice.For), tally.InFavour.Voters);
                Assert.Equal(counted.Count(b => b.Choice == BallotChoice.Against), tally.Against.Voters);
                Assert.Equal(counted.Count(b => b.Choice == BallotChoice.Abstain), tally.Abstaining.Voters);
            }
        }
        finally
        {
            await ChildProcess.RunToEndAsync("redis-cli", ["-p", $"{redisPort}", "shutdown", "nosave"], null, TimeSpan.FromSeconds(10));
            redisDir.Delete(recursive: true);
        }
    }

    private async Task<Vote> OpenVoteAsync(Councils.V1.Councils.CouncilsClient client, string courtyard)
    {
        var member = tokens.As($"rs_{courtyard}_member", $"committee_member:{courtyard}");
        var proposal = await client.TableProposalAsync(new TableProposalRequest
        {
            RequestId = "worker-proposal", CourtyardId = courtyard, Title = "进程测试", Body = "worker", Effect = new ProposalEffect { General = new() },
            Ballot = new BallotDesign { Rule = VoteRule.SimpleMajority, Electorate = Electorate.PerHousehold },
        }, member);
        return await client.OpenVoteAsync(new OpenVoteRequest
        {
            RequestId = "worker-open", CourtyardId = courtyard, ProposalId = proposal.Id,
            ClosesAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
        }, member);
    }

    private sealed record Worker(ChildProcess Process, string Address) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    /// <summary>Starts a worker; with <paramref name="seed"/> it fills the courtyard's roll with 1,000 households first.</summary>
    private async Task<Worker> StartWorkerAsync(string courtyard, string cluster, string? redis = null, bool seed = true)
    {
        var grpcPort = FreePort();
        string[] arguments =
        [
            "--grpc-port", $"{grpcPort}", "--silo-port", $"{FreePort()}", "--gateway-port", $"{FreePort()}", "--cluster", cluster,
            "--jwt-public-key", tokens.PublicKeyBase64,
            .. seed ? ["--seed-courtyard", courtyard, "--households", "1000"] : Array.Empty<string>(),
            .. redis is null ? Array.Empty<string>() : ["--redis", redis],
        ];
        var process = ChildProcess.StartTestWorker("Courtyard.Councils.Tests.Worker", arguments);
        var ready = await process.WaitForJsonLineAsync(line => line.TryGetProperty("ready", out _), TimeSpan.FromSeconds(90));
        return new Worker(process, ready.GetProperty("grpc").GetString()!);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
