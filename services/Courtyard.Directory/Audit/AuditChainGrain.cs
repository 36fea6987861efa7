using Courtyard.Directory.V1;
using Courtyard.Storage;
using Orleans.EventSourcing;
using Orleans.EventSourcing.CustomStorage;
using Orleans.Providers;

namespace Courtyard.Directory.Audit;

/// <summary>An anchor as grains pass it: a (sequence, hash) pair the auditor kept.</summary>
[GenerateSerializer, Immutable]
public sealed record AuditAnchorValue([property: Id(0)] long Sequence, [property: Id(1)] string Hash);

[GenerateSerializer, Immutable]
public sealed record AuditVerification(
    [property: Id(0)] long EntriesChecked,
    [property: Id(1)] long HeadSequence,
    [property: Id(2)] string HeadHash,
    [property: Id(3)] IReadOnlyList<AuditProblem> Problems);

/// <summary>
/// One append-only, hash-chained audit log, keyed by its chain id: a courtyard, community or street id, or
/// <see cref="DirectoryIds.PlatformChain"/>.
/// </summary>
public interface IAuditChainGrain : IGrainWithStringKey
{
    /// <summary>Appends an entry after the current head, dated now; returns its sequence number once it is stored.</summary>
    Task<long> AppendAsync(AuditFact fact);

    /// <summary>
    /// Appends the entry a state change raised (<see cref="AuditTrail"/>), dated when it happened, with the delivery's
    /// inbox mark in the same append: a repeated delivery appends nothing (InboxMarkAlreadyRecordedException).
    /// </summary>
    Task<long> RecordAsync(AuditFact fact, DateTimeOffset at, InboxMark mark);

    Task<IReadOnlyList<AuditRecord>> ListAsync(long fromSequence, int maxEntries);

    /// <summary>Reads the chain again from storage and checks every row (<see cref="AuditChainVerifier"/>).</summary>
    Task<AuditVerification> VerifyAsync(IReadOnlyList<AuditAnchorValue> anchors);
}

/// <summary>The chain's head, folded from its entries.</summary>
[GenerateSerializer]
public sealed class AuditChainView
{
    [Id(0)] public long Count { get; set; }
    [Id(1)] public string HeadHash { get; set; } = AuditHashing.Genesis;
}

/// <summary>
/// The audit chain as an Orleans event-sourced grain on Courtyard.Storage's journal (Directory's own database): each
/// entry is a journal event, appended and confirmed before the caller hears back. Entries are never changed or removed
/// through it; listing and verification read the stored rows themselves (<see cref="IJournal{TState,TEvent}.ReadEventsAsync"/>),
/// not what this activation remembers.
/// </summary>
[GrainType("directory.audit_chain")]
[LogConsistencyProvider(ProviderName = CourtyardStorageSiloBuilderExtensions.JournalProviderName)]
internal sealed class AuditChainGrain(
    [Journal(DirectoryOptions.ServiceName)] IJournal<AuditChainView, AuditRecord> journal,
    [FromKeyedServices(DirectoryOptions.ServiceName)] TimeProvider time)
    : JournaledGrain<AuditChainView, AuditRecord>, IAuditChainGrain, ICustomStorageInterface<AuditChainView, AuditRecord>
{
    /// <summary>Rows read per round trip when a whole chain is verified.</summary>
    private const int VerifyPage = 1000;

    public Task<long> AppendAsync(AuditFact fact) => AppendAsync(fact, time.GetUtcNow());

    public async Task<long> RecordAsync(AuditFact fact, DateTimeOffset at, InboxMark mark)
    {
        await journal.ConsumeAsync(mark);
        return await AppendAsync(fact, at);
    }

    private async Task<long> AppendAsync(AuditFact fact, DateTimeOffset at)
    {
        var record = new AuditRecord
        {
            Sequence = State.Count + 1,
            AtUnixMilliseconds = at.ToUnixTimeMilliseconds(),
            Kind = (int)fact.Kind,
            ActorId = fact.ActorId,
            SubjectId = fact.SubjectId,
            Details = fact.Details.OrderBy(d => d.Key, StringComparer.Ordinal).ToList(),
            PreviousHash = State.HeadHash,
        };
        record.Hash = AuditHashing.HashOf(record);
        RaiseEvent(record);
        await ConfirmEvents();
        return record.Sequence;
    }

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(long fromSequence, int maxEntries) =>
        (await journal.ReadEventsAsync(Math.Max(0, fromSequence - 1), maxEntries)).Select(row => row.Event).ToArray();

    public async Task<AuditVerification> VerifyAsync(IReadOnlyList<AuditAnchorValue> anchors)
    {
        var rows = new List<AuditRecord>();
        long after = 0;
        while (true)
        {
            var page = await journal.ReadEventsAsync(after, VerifyPage);
            rows.AddRange(page.Select(row => row.Event));
            if (page.Count < VerifyPage)
            {
                break;
            }
            after = page[^1].Version;
        }
        var problems = AuditChainVerifier.Verify(rows, anchors.Select(a => new AuditAnchor { Sequence = a.Sequence, Hash = a.Hash }));
        var head = rows.Count > 0 ? rows[^1] : null;
        return new AuditVerification(rows.Count, head?.Sequence ?? 0, head?.Hash ?? AuditHashing.Genesis, problems);
    }

    protected override void TransitionState(AuditChainView state, AuditRecord entry)
    {
        state.Count = entry.Sequence;
        state.HeadHash = entry.Hash;
    }

    public Task<KeyValuePair<int, AuditChainView>> ReadStateFromStorage() => journal.ReadAsync(TransitionState);

    public Task<bool> ApplyUpdatesToStorage(IReadOnlyList<AuditRecord> updates, int expectedVersion) =>
        journal.AppendAsync(State, updates, expectedVersion);
}
