using System.Collections.Immutable;
using Courtyard.Storage;
using Orleans.EventSourcing;
using Orleans.EventSourcing.CustomStorage;
using Orleans.Providers;

namespace Courtyard.Councils.Proposals;

/// <summary>A proposal's comments. Persistent and <c>[Immutable]</c>, like the vote's ballots (see VoteState): Orleans' copy for the tentative state shares it.</summary>
[GenerateSerializer]
public sealed class DiscussionState
{
    [Id(0), Immutable] public ImmutableList<CommentView> Comments { get; set; } = [];

    public void Apply(CommentView comment) => Comments = Comments.Add(comment);
}

[GenerateSerializer, Immutable]
public sealed record CommentPage([property: Id(0)] CommentView[] Comments, [property: Id(1)] int NextOffset, [property: Id(2)] int Total);

/// <summary>A proposal's deliberation comments, event-sourced (one appended event per comment). Keyed like its proposal.</summary>
public interface IDiscussionGrain : IGrainWithStringKey
{
    /// <summary>Appends the comment unless one with its id (derived from the request) is already there.</summary>
    Task<CommentView> Post(CommentView comment);

    Task<CommentPage> List(int offset, int pageSize);

    Task<int> Count();
}

[GrainType("councils.discussion")]
[LogConsistencyProvider(ProviderName = CourtyardStorageSiloBuilderExtensions.JournalProviderName)]
public sealed class DiscussionGrain([Journal(CouncilsNames.Storage)] IJournal<DiscussionState, CommentView> journal)
    : JournaledGrain<DiscussionState, CommentView>, IDiscussionGrain, ICustomStorageInterface<DiscussionState, CommentView>
{
    protected override void TransitionState(DiscussionState state, CommentView @event) => state.Apply(@event);

    public Task<KeyValuePair<int, DiscussionState>> ReadStateFromStorage() => journal.ReadAsync(TransitionState);

    public Task<bool> ApplyUpdatesToStorage(IReadOnlyList<CommentView> updates, int expectedVersion) =>
        journal.AppendAsync(State, updates, expectedVersion);

    public async Task<CommentView> Post(CommentView comment)
    {
        var earlier = TentativeState.Comments.FindLast(existing => existing.Id == comment.Id);
        if (earlier is null) RaiseEvent(comment);
        await ConfirmEvents();
        return earlier ?? comment;
    }

    public Task<CommentPage> List(int offset, int pageSize)
    {
        var page = State.Comments.Skip(offset).Take(pageSize).ToArray();
        var next = offset + page.Length;
        return Task.FromResult(new CommentPage(page, next < State.Comments.Count ? next : 0, State.Comments.Count));
    }

    public Task<int> Count() => Task.FromResult(State.Comments.Count);
}
