using Courtyard.Councils.Proposals;
using Courtyard.Councils.Voting;
using Courtyard.ServiceDefaults;
using Courtyard.Storage;

namespace Courtyard.Councils.Council;

[GenerateSerializer]
public sealed class CouncilState : IHasPendingEffects
{
    [Id(0)] public CouncilSettings Settings { get; set; } = CouncilSettings.Default;
    [Id(1)] public Dictionary<string, ProposalEntry> Proposals { get; set; } = [];
    [Id(2)] public Dictionary<string, NoticeEntry> Notices { get; set; } = [];

    [field: NonSerialized] public PendingEffects Effects { get; } = new();
}

[GrainType("councils.courtyard")]
public sealed class CouncilGrain([PersistentState("council", CouncilsNames.Storage)] IPersistentState<CouncilState> council) : Grain, ICouncilGrain
{
    /// <summary>Live tallies of open votes; rebuilt from the votes' next pushes after a reactivation.</summary>
    private readonly Dictionary<string, TallySnapshot> liveTallies = [];

    public Task<CouncilOverview> Overview() => Task.FromResult(new CouncilOverview(
        council.State.Settings,
        council.State.Proposals.Values.OrderByDescending(entry => entry.CreatedAt).ToArray(),
        liveTallies.Values.Where(tally => !tally.Final).ToArray(),
        council.State.Notices.Values.OrderByDescending(entry => entry.PostedAt).ToArray()));

    public async Task<CouncilSettings> UpdateSettings(CouncilSettings settings, Caller caller)
    {
        if (!caller.IsChair)
            throw RequestRefusedException.PermissionDenied("只有院委会主任可以修改议事设置。", "Only the committee chair can change the council's settings.");
        if (settings.PetitionThresholdPercent is < 1 or > 100)
            throw RequestRefusedException.InvalidArgument("联名门槛必须在 1% 到 100% 之间。", "The petition threshold must be between 1 % and 100 %.");
        if (settings.NoticeDisplayDays is < 1 or > 365 || settings.NoticeObjectionDays < 1 || settings.NoticeObjectionDays > settings.NoticeDisplayDays)
            throw RequestRefusedException.InvalidArgument(
                "公示期须为 1 至 365 天，异议期须为 1 天以上且不长于公示期。", "A notice is displayed 1 to 365 days, with an objection window of at least 1 day and no longer than that.");
        council.State.Settings = settings;
        await Write();
        return settings;
    }

    public async Task ProposalChanged(ProposalEntry entry)
    {
        if (council.State.Proposals.TryGetValue(entry.ProposalId, out var known) && known == entry) return;
        council.State.Proposals[entry.ProposalId] = entry;
        await Write();
    }

    public async Task NoticePosted(NoticeEntry entry)
    {
        if (council.State.Notices.ContainsKey(entry.NoticeId)) return;
        council.State.Notices[entry.NoticeId] = entry;
        await Write();
    }

    public Task TallyChanged(TallySnapshot tally)
    {
        // One-way messages may arrive out of order: keep the newest, and never replace the final one.
        if (liveTallies.TryGetValue(tally.VoteId, out var known) && (known.Final || (!tally.Final && known.Sequence > tally.Sequence)))
            return Task.CompletedTask;
        liveTallies[tally.VoteId] = tally;
        return Task.CompletedTask;
    }

    private async Task Write()
    {
        try
        {
            await council.WriteStateAsync();
        }
        catch
        {
            // The state in memory is ahead of storage now: start again from what was stored.
            DeactivateOnIdle();
            throw;
        }
    }
}
