using System.Collections.Immutable;

namespace Courtyard.Councils.Voting;

/// <summary>What happens to a vote, in the order it happened: its journal.</summary>
[GenerateSerializer]
public abstract record VoteEvent;

[GenerateSerializer]
public sealed record VoteOpened([property: Id(0)] VoteSpec Spec, [property: Id(1)] EligibleVoter[] Electorate) : VoteEvent;

[GenerateSerializer]
public sealed record BallotRecorded(
    [property: Id(0)] string BallotId,
    [property: Id(1)] string VoterId,
    [property: Id(2)] Choice Choice,
    [property: Id(3)] string[] OptionIds,
    [property: Id(4)] AuditRecord Audit,
    [property: Id(5)] int Revision) : VoteEvent;

[GenerateSerializer]
public sealed record VoteClosedEvent(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] bool Early,
    [property: Id(2)] string ClosedById,
    [property: Id(3)] string Reason,
    [property: Id(4)] string RequestId) : VoteEvent;

/// <summary>The proposal has recorded the result (and posted its notice): the closing reminder can go.</summary>
[GenerateSerializer]
public sealed record ResultReported([property: Id(0)] DateTimeOffset At) : VoteEvent;

/// <summary>
/// The vote as its journal makes it. <see cref="Apply"/> is the only place that changes it.
/// <para>
/// Its collections are persistent (System.Collections.Immutable) and marked <c>[Immutable]</c>: after every write
/// Orleans' log view makes the grain's next tentative state by deep-copying the confirmed one, and with these members
/// that copy shares them instead of copying every ballot, so a ballot costs the same at 5,000 ballots as at 10.
/// Apply therefore replaces a collection (<c>History = History.Add(…)</c>), never changes one in place.
/// </para>
/// </summary>
[GenerateSerializer]
public sealed class VoteState
{
    [Id(0)] public VoteSpec? Spec { get; set; }
    [Id(1), Immutable] public ImmutableDictionary<string, EligibleVoter> Electorate { get; set; } = ImmutableDictionary<string, EligibleVoter>.Empty;
    /// <summary>Every ballot in the order recorded (superseded ones included), for the audit.</summary>
    [Id(2), Immutable] public ImmutableList<BallotRecorded> History { get; set; } = [];
    /// <summary>Per voter: the index in <see cref="History"/> of the ballot that counts.</summary>
    [Id(3), Immutable] public ImmutableDictionary<string, int> Counted { get; set; } = ImmutableDictionary<string, int>.Empty;
    /// <summary>Per request_id: the index in <see cref="History"/> of the ballot it recorded.</summary>
    [Id(4), Immutable] public ImmutableDictionary<string, int> ByRequest { get; set; } = ImmutableDictionary<string, int>.Empty;
    [Id(5)] public TallyCounts Counts { get; set; } = new();
    [Id(6)] public VoteClosedEvent? Closed { get; set; }
    [Id(7)] public bool Reported { get; set; }

    public bool IsOpen => Spec is not null && Closed is null;

    public void Apply(VoteEvent @event)
    {
        switch (@event)
        {
            case VoteOpened opened:
                Spec = opened.Spec;
                Electorate = opened.Electorate.ToImmutableDictionary(voter => voter.VoterId);
                Counts = TallyCounts.Recount(opened.Electorate, [], opened.Spec.Design.Options.Select(option => option.Id));
                break;
            case BallotRecorded ballot:
                var voter = Electorate[ballot.VoterId];
                if (Counted.TryGetValue(ballot.VoterId, out var previous))
                    Counts.Remove(AsCounted(History[previous]), voter);
                History = History.Add(ballot);
                Counted = Counted.SetItem(ballot.VoterId, History.Count - 1);
                ByRequest = ByRequest.SetItem(ballot.Audit.RequestId, History.Count - 1);
                Counts.Add(AsCounted(ballot), voter);
                break;
            case VoteClosedEvent closed:
                Closed = closed;
                break;
            case ResultReported:
                Reported = true;
                break;
        }
    }

    public static CountedBallot AsCounted(BallotRecorded ballot) =>
        new(ballot.VoterId, ballot.Choice, ballot.OptionIds, ballot.Audit.Channel.Kind);
}
