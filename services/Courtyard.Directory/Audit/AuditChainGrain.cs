using Courtyard.Directory.V1;
using Orleans.EventSourcing;
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
    /// <summary>Appends an entry after the current head; returns its sequence number once it is stored.</summary>
    Task<long> AppendAsync(AuditFact fact);

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

/// <summary>Where audit chains keep their entries: the log-consistency provider the grain names.</summary>
public static class AuditJournal
{
    /// <summary>
    /// Orleans' LogStorage provider over the "directory" grain storage until our journal lands; then
    /// <c>CustomStorage</c> over Courtyard.Storage's journal (services/Courtyard.Directory/README.md, "Audit log").
    /// </summary>
    public const string ProviderName = "directory-audit";
}

/// <summary>
/// The audit chain as an Orleans event-sourced grain: each entry is a journal event, appended and confirmed before the
/// caller hears back. Entries are never changed or removed through it; verification reads them back from storage.
/// </summary>
[GrainType("directory.audit_chain")]
[StorageProvider(ProviderName = DirectoryOptions.ServiceName)]
[LogConsistencyProvider(ProviderName = AuditJournal.ProviderName)]
internal sealed class AuditChainGrain([FromKeyedServices(DirectoryOptions.ServiceName)] TimeProvider time) : JournaledGrain<AuditChainView, AuditRecord>, IAuditChainGrain
{
    public async Task<long> AppendAsync(AuditFact fact)
    {
        var record = new AuditRecord
        {
            Sequence = State.Count + 1,
            AtUnixMilliseconds = time.GetUtcNow().ToUnixTimeMilliseconds(),
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

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(long fromSequence, int maxEntries)
    {
        int from = (int)Math.Clamp(fromSequence - 1, 0, Version);
        int to = (int)Math.Min(Version, (long)from + maxEntries);
        return await RetrieveConfirmedEvents(from, to);
    }

    public async Task<AuditVerification> VerifyAsync(IReadOnlyList<AuditAnchorValue> anchors)
    {
        // What is stored now, not what this activation remembers.
        await RefreshNow();
        var rows = await RetrieveConfirmedEvents(0, Version);
        var problems = AuditChainVerifier.Verify(rows, anchors.Select(a => new AuditAnchor { Sequence = a.Sequence, Hash = a.Hash }));
        var head = rows.Count > 0 ? rows[^1] : null;
        return new AuditVerification(rows.Count, head?.Sequence ?? 0, head?.Hash ?? AuditHashing.Genesis, problems);
    }

    protected override void TransitionState(AuditChainView state, AuditRecord entry)
    {
        state.Count = entry.Sequence;
        state.HeadHash = entry.Hash;
    }
}
