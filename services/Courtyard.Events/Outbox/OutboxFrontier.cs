using Courtyard.Storage;

namespace Courtyard.Events.Outbox;

/// <summary>
/// The relay's position in the outbox's id sequence: every id up to <see cref="Position"/> is settled (taken by the
/// relay, sent, rolled back, or left to a courtyard that reads its own rows). A read after the position may show a gap
/// (PostgreSQL: a transaction drew a lower id and has not committed yet). The gap is passed only once the read's
/// visibility settles it (<see cref="OutboxVisibility.Settles"/>): the rows above it wait, so a late commit is never
/// published after a later row of its courtyard. A gap older than the safety cap (a transaction left open for long)
/// is passed anyway and watched: whatever commits into it later is still published, out of order, with a warning.
/// Pure bookkeeping: the relay reads, this decides.
/// </summary>
internal sealed class OutboxFrontier(TimeSpan gapWaitLimit)
{
    // A read that showed rows up to MaxId, with its visibility: a gap below MaxId was first seen no later than it.
    private readonly record struct Sighting(long MaxId, OutboxVisibility Visibility, DateTimeOffset SeenAt);

    /// <summary>A gap passed after the safety cap: ids From..To may still commit until the database settles it.</summary>
    internal sealed record LateWatch(long From, long To, OutboxVisibility FirstSeen)
    {
        public HashSet<long> Found { get; } = [];
    }

    private readonly List<Sighting> sightings = [];
    private readonly List<LateWatch> lateWatches = [];

    public long Position { get; private set; }

    public IReadOnlyList<LateWatch> LateWatches => lateWatches;

    /// <summary>
    /// Takes a read of the rows after <see cref="Position"/>: returns those now settled, in id order, and moves past
    /// them. <paramref name="gapOpen"/> is true when it stopped at a gap that may still fill (read again soon).
    /// </summary>
    public IReadOnlyList<OutboxRecord> Advance(UnsentRows read, DateTimeOffset now, out bool gapOpen)
    {
        gapOpen = false;
        if (read.Count > 0 && (sightings.Count == 0 || sightings[^1].MaxId < read[^1].Id))
        {
            sightings.Add(new Sighting(read[^1].Id, read.Visibility, now));
        }
        var settled = new List<OutboxRecord>(read.Count);
        foreach (var row in read)
        {
            if (row.Id <= Position)
            {
                continue;
            }
            if (row.Id > Position + 1)
            {
                // Every id in the gap is below this row, so its transaction took its xid before this row was first seen.
                var firstSeen = sightings.First(s => s.MaxId >= row.Id);
                if (!read.Visibility.Settles(firstSeen.Visibility))
                {
                    if (now - firstSeen.SeenAt < gapWaitLimit)
                    {
                        gapOpen = true;
                        break;
                    }
                    lateWatches.Add(new LateWatch(Position + 1, row.Id - 1, firstSeen.Visibility));
                }
            }
            settled.Add(row);
            Position = row.Id;
        }
        sightings.RemoveAll(s => s.MaxId <= Position);
        return settled;
    }

    /// <summary>
    /// Takes a read of the rows after <paramref name="watch"/>.From - 1: returns the rows that committed into the gap
    /// since (each once), and ends the watch once the read's visibility settles it.
    /// </summary>
    public IReadOnlyList<OutboxRecord> CheckLate(LateWatch watch, UnsentRows read)
    {
        var late = read.Where(r => r.Id >= watch.From && r.Id <= watch.To && watch.Found.Add(r.Id)).ToList();
        if (read.Visibility.Settles(watch.FirstSeen))
        {
            lateWatches.Remove(watch);
        }
        return late;
    }
}
