using System.Diagnostics;
using Courtyard.Councils.V1;
using Grpc.Core;
using static Courtyard.Councils.Tests.Scenario;

namespace Courtyard.Councils.Tests.Voting;

/// <summary>The live tally stream: the tally now, then changes coalesced to a few a second, then the final tally.</summary>
public sealed class WatchTallyTests : IAsyncLifetime
{
    private CouncilsTestHost host = null!;

    public async Task InitializeAsync() => host = await CouncilsTestHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task A_watcher_sees_the_tally_move_coalesced_and_the_stream_ends_with_the_final_tally()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 60);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard));
        using var watch = host.Client.WatchTally(new WatchTallyRequest { CourtyardId = courtyard.Id, VoteId = vote.Id }, courtyard.Owner(0));
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(0, watch.ResponseStream.Current.Sequence);

        var received = new List<(TimeSpan At, Tally Tally)>();
        var clock = Stopwatch.StartNew();
        var reading = Task.Run(async () =>
        {
            while (await watch.ResponseStream.MoveNext())
                received.Add((clock.Elapsed, watch.ResponseStream.Current));
        });
        await Parallel.ForEachAsync(Enumerable.Range(0, 60), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, _) => await host.VoteAsync(courtyard, vote, i, i % 3 == 0 ? BallotChoice.Against : BallotChoice.For));
        var castFor = clock.Elapsed;
        await Courtyard.Testing.Eventually.HoldsAsync(() => received.Any(r => r.Tally.Sequence == 60), TimeSpan.FromSeconds(10), "the watcher saw all 60 ballots");

        await host.CloseAsync(courtyard, vote);
        await reading.WaitAsync(TimeSpan.FromSeconds(10));  // the stream ends after the final tally

        Assert.True(received[^1].Tally.Final);
        Assert.Equal((40, 20), (received[^1].Tally.InFavour.Voters, received[^1].Tally.Against.Voters));
        var moving = received.Where(r => !r.Tally.Final).ToList();
        Assert.True(moving.Count < 60, $"60 ballots gave {moving.Count} messages: changes were not coalesced");
        // At most five a second (one per 200 ms), with one message of slack for where the window started.
        Assert.True(moving.Count <= (castFor + TimeSpan.FromSeconds(1)).TotalSeconds * 5 + 2, $"{moving.Count} messages in {castFor.TotalSeconds:0.0} s");
        Assert.Equal(moving.Select(r => r.Tally.Sequence).Order(), moving.Select(r => r.Tally.Sequence));
    }

    [Fact]
    public async Task Watching_a_closed_vote_gives_its_final_tally_and_ends()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 2);
        var vote = await host.OpenVoteAsync(courtyard, await host.TableAsync(courtyard));
        await host.VoteAsync(courtyard, vote, 0, BallotChoice.For);
        await host.CloseAsync(courtyard, vote);
        using var watch = host.Client.WatchTally(new WatchTallyRequest { CourtyardId = courtyard.Id, VoteId = vote.Id }, courtyard.Owner(1));
        var all = new List<Tally>();
        while (await watch.ResponseStream.MoveNext()) all.Add(watch.ResponseStream.Current);
        var only = Assert.Single(all);
        Assert.True(only.Final);
    }

    [Fact]
    public async Task Watching_an_unknown_vote_is_not_found()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 1);
        using var watch = host.Client.WatchTally(new WatchTallyRequest { CourtyardId = courtyard.Id, VoteId = "vt_nope" }, courtyard.Owner(0));
        await RefusedAsync(StatusCode.NotFound, () => watch.ResponseStream.MoveNext());
    }
}
