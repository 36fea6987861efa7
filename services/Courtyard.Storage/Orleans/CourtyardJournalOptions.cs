namespace Courtyard.Storage;

/// <summary>Options of the journals of JournaledGrains (<see cref="IJournal{TState,TEvent}"/>).</summary>
public sealed class CourtyardJournalOptions
{
    /// <summary>
    /// A snapshot of the state is stored with an append once this many events were appended since the last one, so
    /// activation replays at most about this many events, however long the history.
    /// </summary>
    public int SnapshotInterval { get; set; } = 100;
}
