using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Courtyard.Authorization.Claims;
using Courtyard.Councils.V1;
using Courtyard.Directory.V1;
using Courtyard.Testing;
using Courtyard.Testing.Authorization;
using Grpc.Core;
using Grpc.Net.Client;

namespace Courtyard.Councils.Tests.Faults;

/// <summary>
/// Councils in worker processes (tests/Courtyard.Councils.Tests.Worker: the service as its Program composes it): a
/// SIGKILL in the middle of a vote storm, and two processes clustered through Redis serving one courtyard.
/// </summary>
public sealed class WorkerProcessTests
{
    private readonly TestTokens tokens = new("test-key");

    private CallOptions As(string residentId, params GrantClaim[] grants) =>
        new(new Metadata { { "authorization", "Bearer " + tokens.Mint("ac_" + residentId, grants, [residentId]) } }, deadline: DateTime.UtcNow.AddSeconds(60));

    [Fact]
    public async Task A_ballot_cast_through_a_worker_process_gets_its_receipt()
    {
        var courtyard = "cy_worker";
        using var dataDir = new TempFolder();
        await using var worker = await StartWorkerAsync(courtyard, "councils-worker-" + Guid.NewGuid().ToString("N")[..8], dataDir.Path);
        using var channel = GrpcChannel.ForAddress(worker.Address);
        var client = new Councils.V1.Councils.CouncilsClient(channel);
        var vote = await OpenVoteAsync(client, courtyard);
        var receipt = await client.CastBallotAsync(new CastBallotRequest
        {
            RequestId = "r1", CourtyardId = courtyard, VoteId = vote.Id, VoterId = $"hh_{courtyard}_0001", Choice = BallotChoice.For,
        }, As($"rs_{courtyard}_0001_o", new GrantClaim(Role.Resident, courtyard)));
        Assert.Equal(1, receipt.Revision);
    }

    /// <summary>
    /// 1,000 households vote at once; the process is SIGKILLed once 200 ballots are acknowledged. Restarted on the same
    /// SQLite file, every ballot whose receipt a voter holds is stored: a ballot is acknowledged only after its journal
    /// append committed (fsynced).
    /// </summary>
    [Fact]
    public async Task Every_acknowledged_ballot_survives_a_SIGKILL_during_a_storm()
    {
        var courtyard = "cy_sigkill";
        var cluster = "councils-kill-" + Guid.NewGuid().ToString("N")[..8];
        using var dataDir = new TempFolder();
        var receipts = new ConcurrentDictionary<string, BallotReceipt>();
        Vote vote;
        await using (var worker = await StartWorkerAsync(courtyard, cluster, dataDir.Path))
        {
            using var channel = GrpcChannel.ForAddress(worker.Address);
            var client = new Councils.V1.Councils.CouncilsClient(channel);
            vote = await OpenVoteAsync(client, courtyard);
            var voting = Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
            {
                try
                {
                    var receipt = await client.CastBallotAsync(new CastBallotRequest
                    {
                        RequestId = $"storm-{i}", CourtyardId = courtyard, VoteId = vote.Id, VoterId = $"hh_{courtyard}_{i:D4}", Choice = BallotChoice.For,
                    }, As($"rs_{courtyard}_{i:D4}_o", new GrantClaim(Role.Resident, courtyard)));
                    receipts[receipt.BallotId] = receipt;
                }
                catch (RpcException)
                {
                    // In flight when the process died: not acknowledged, so not owed.
                }
            });
            await Eventually.HoldsAsync(() => receipts.Count >= 200, TimeSpan.FromSeconds(60), "200 ballots acknowledged");
            await worker.Process.KillAsync();
            await voting;
        }
        Assert.InRange(receipts.Count, 200, 999);

        await using var restarted = await StartWorkerAsync(courtyard, cluster, dataDir.Path, seed: false);
        using var restartedChannel = GrpcChannel.ForAddress(restarted.Address);
        var stored = await AllBallotsAsync(new Councils.V1.Councils.CouncilsClient(restartedChannel), courtyard, vote.Id);
        Assert.Empty(receipts.Keys.Except(stored.Select(b => b.Id)));
        Assert.All(receipts.Values, receipt => Assert.Contains(stored, b => b.Id == receipt.BallotId && b.VoterId == receipt.VoterId));
    }

    /// <summary>
    /// Two workers clustered through a Redis of the test's own, on one PostgreSQL database, serve one courtyard during a
    /// storm sent through both: one activation of the vote, so the tally read through either equals a recount of the
    /// stored ballots.
    /// </summary>
    [Fact]
    public async Task Two_workers_clustered_through_Redis_serve_one_courtyard_and_the_tally_equals_the_recount()
    {
        var courtyard = "cy_redis";
        await using var redis = await TestRedis.StartAsync();
        var database = await TestPostgres.CreateDatabaseAsync();
        try
        {
            using var firstDir = new TempFolder();
            using var secondDir = new TempFolder();
            var cluster = "councils-redis-" + Guid.NewGuid().ToString("N")[..8];
            await using var first = await StartWorkerAsync(courtyard, cluster, firstDir.Path, redis: redis.ConnectionString, postgres: database);
            await using var second = await StartWorkerAsync(courtyard, cluster, secondDir.Path, redis: redis.ConnectionString, postgres: database, seed: false);
            using var firstChannel = GrpcChannel.ForAddress(first.Address);
            using var secondChannel = GrpcChannel.ForAddress(second.Address);
            var clients = new[] { new Councils.V1.Councils.CouncilsClient(firstChannel), new Councils.V1.Councils.CouncilsClient(secondChannel) };
            var vote = await OpenVoteAsync(clients[0], courtyard);

            var random = new Random(2);
            var plan = Enumerable.Range(0, 1000).Select(i => (household: i, choice: (BallotChoice)random.Next(1, 4), again: (BallotChoice)random.Next(1, 4))).ToList();
            await Parallel.ForEachAsync(plan, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (step, _) =>
            {
                var caller = As($"rs_{courtyard}_{step.household:D4}_o", new GrantClaim(Role.Resident, courtyard));
                foreach (var (choice, through) in new[] { (step.choice, step.household % 2), (step.again, (step.household + 1) % 2) })
                    await clients[through].CastBallotAsync(new CastBallotRequest
                    {
                        RequestId = Guid.NewGuid().ToString("N"), CourtyardId = courtyard, VoteId = vote.Id, VoterId = $"hh_{courtyard}_{step.household:D4}", Choice = choice,
                    }, caller);
            });

            var counted = (await AllBallotsAsync(clients[1], courtyard, vote.Id)).Where(b => !b.Superseded).ToList();
            Assert.Equal(1000, counted.Count);
            Assert.Equal(plan.Select(p => p.again).Count(c => c == BallotChoice.For), counted.Count(b => b.Choice == BallotChoice.For));
            var chair = As($"rs_{courtyard}_chair", new GrantClaim(Role.CommitteeChair, courtyard));
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
            await TestPostgres.DropDatabaseAsync(database);
        }
    }

    private async Task<List<Ballot>> AllBallotsAsync(Councils.V1.Councils.CouncilsClient client, string courtyard, string voteId)
    {
        var chair = As($"rs_{courtyard}_chair", new GrantClaim(Role.CommitteeChair, courtyard));
        var ballots = new List<Ballot>();
        var page = new ListBallotsRequest { CourtyardId = courtyard, VoteId = voteId, IncludeSuperseded = true, Page = new Common.V1.PageRequest { PageSize = 500 } };
        do
        {
            var reply = await client.ListBallotsAsync(page, chair);
            ballots.AddRange(reply.Ballots);
            page.Page.PageToken = reply.Page.NextPageToken;
        } while (page.Page.PageToken.Length > 0);
        return ballots;
    }

    private async Task<Vote> OpenVoteAsync(Councils.V1.Councils.CouncilsClient client, string courtyard)
    {
        var member = As($"rs_{courtyard}_member", new GrantClaim(Role.CommitteeMember, courtyard));
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

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = System.IO.Directory.CreateTempSubdirectory("councils-worker-").FullName;

        public void Dispose()
        {
            try
            {
                System.IO.Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Starts a worker; with <paramref name="seed"/> it fills the courtyard's roll with 1,000 households first.</summary>
    private async Task<Worker> StartWorkerAsync(string courtyard, string cluster, string dataDir, string? redis = null, string? postgres = null, bool seed = true)
    {
        var grpcPort = FreePort();
        string[] arguments =
        [
            "--grpc-port", $"{grpcPort}", "--silo-port", $"{FreePort()}", "--cluster", cluster, "--data-dir", dataDir,
            "--jwt-public-key", Convert.ToBase64String(tokens.SigningKey.ECDsa.ExportSubjectPublicKeyInfo()),
            .. seed ? ["--seed-courtyard", courtyard, "--households", "1000"] : Array.Empty<string>(),
            .. redis is null ? Array.Empty<string>() : ["--redis", redis],
            .. postgres is null ? Array.Empty<string>() : ["--postgres", postgres],
        ];
        var process = ChildProcess.StartTestWorker("Courtyard.Councils.Tests.Worker", arguments);
        var ready = await process.WaitForJsonLineAsync(line => line.TryGetProperty("ready", out _), TimeSpan.FromSeconds(180));
        return new Worker(process, ready.GetProperty("grpc").GetString()!);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
