using Courtyard.Directory.V1;

namespace Courtyard.Directory.Audit;

/// <summary>What a part of Directory asks the audit log to record. The chain adds the sequence, time and hashes.</summary>
[GenerateSerializer, Immutable]
public sealed record AuditFact(
    [property: Id(0)] AuditKind Kind,
    [property: Id(1)] string ActorId,
    [property: Id(2)] string SubjectId,
    [property: Id(3)] IReadOnlyDictionary<string, string> Details);

/// <summary>
/// One stored entry of an audit chain (a journal event of <see cref="AuditChainGrain"/>). <see cref="Hash"/> is the
/// SHA-256 of its canonical form (<see cref="AuditHashing"/>), which includes <see cref="PreviousHash"/>: changing,
/// removing or moving any entry breaks the chain where it happened.
/// </summary>
[GenerateSerializer]
public sealed class AuditRecord
{
    [Id(0)] public long Sequence { get; set; }
    [Id(1)] public long AtUnixMilliseconds { get; set; }
    [Id(2)] public int Kind { get; set; }
    [Id(3)] public string ActorId { get; set; } = "";
    [Id(4)] public string SubjectId { get; set; } = "";

    /// <summary>Sorted by key (ordinal), so the canonical form does not depend on insertion order.</summary>
    [Id(5)] public List<KeyValuePair<string, string>> Details { get; set; } = [];

    [Id(6)] public string PreviousHash { get; set; } = "";
    [Id(7)] public string Hash { get; set; } = "";

    public AuditEntry ToProto()
    {
        var entry = new AuditEntry
        {
            Sequence = Sequence,
            At = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(AtUnixMilliseconds)),
            Kind = (AuditKind)Kind,
            ActorId = ActorId,
            SubjectId = SubjectId,
            PreviousHash = PreviousHash,
            Hash = Hash,
        };
        foreach (var (key, value) in Details)
        {
            entry.Details[key] = value;
        }
        return entry;
    }
}
