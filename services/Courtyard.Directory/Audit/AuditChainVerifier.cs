using Courtyard.Directory.V1;

namespace Courtyard.Directory.Audit;

/// <summary>One thing wrong with a stored chain.</summary>
[GenerateSerializer, Immutable]
public sealed record AuditProblem(
    [property: Id(0)] AuditFindingKind Kind,
    [property: Id(1)] long Sequence,
    [property: Id(2)] int StoredPosition,
    [property: Id(3)] string Chinese,
    [property: Id(4)] string English);

/// <summary>
/// Checks an audit chain as stored, row by row in stored order, and names every entry that was modified, deleted or
/// inserted out of order. It trusts nothing but the rows: each row's hash is recomputed from its content, each row must
/// carry its predecessor's hash, and sequence numbers must run 1, 2, 3… in stored order.
/// <para>
/// What a chain alone cannot show: the newest entries removed from the end, or the whole chain recomputed after a
/// change (there is no secret in a hash). Anchors catch both: (sequence, hash) pairs kept outside the database, e.g. the
/// head printed on a public notice or an earlier verification's head.
/// </para>
/// </summary>
public static class AuditChainVerifier
{
    public static IReadOnlyList<AuditProblem> Verify(IReadOnlyList<AuditRecord> rows, IEnumerable<AuditAnchor>? anchors = null)
    {
        var problems = new List<AuditProblem>();
        var selfConsistent = rows.Select(r => AuditHashing.HashOf(r) == r.Hash).ToArray();
        var inserted = FindInsertedDuplicates(rows, selfConsistent);
        var present = rows.Select(r => r.Sequence).ToHashSet();

        for (int i = 0; i < rows.Count; i++)
        {
            if (inserted[i])
            {
                problems.Add(new(AuditFindingKind.OutOfOrder, rows[i].Sequence, i + 1,
                    $"存储第 {i + 1} 行（序号 {rows[i].Sequence}）是插入的记录：序号重复，且不在链上。",
                    $"Stored row {i + 1} (sequence {rows[i].Sequence}) was inserted: its sequence number repeats and it is not on the chain."));
            }
        }

        long maxSeen = 0;
        int previous = -1;
        for (int i = 0; i < rows.Count; i++)
        {
            if (inserted[i])
            {
                continue;
            }
            var row = rows[i];
            if (!selfConsistent[i])
            {
                Modified(problems, row.Sequence, i, "内容与哈希不符", "its content no longer matches its hash");
            }
            if (row.Sequence <= maxSeen)
            {
                problems.Add(new(AuditFindingKind.OutOfOrder, row.Sequence, i + 1,
                    $"第 {row.Sequence} 条记录的位置不对（存储第 {i + 1} 行，排在第 {maxSeen} 条之后）：被移动或插入。",
                    $"Entry {row.Sequence} (stored row {i + 1}) is out of order, after entry {maxSeen}: it was moved or inserted."));
                continue;
            }
            if (row.Sequence > maxSeen + 1)
            {
                for (long missing = maxSeen + 1; missing < row.Sequence; missing++)
                {
                    if (!present.Contains(missing))
                    {
                        problems.Add(new(AuditFindingKind.Deleted, missing, 0,
                            $"第 {missing} 条记录被删除。", $"Entry {missing} was deleted."));
                    }
                }
            }
            else if (previous < 0 ? row.PreviousHash != AuditHashing.Genesis : row.PreviousHash != rows[previous].Hash)
            {
                // Both rows hash correctly, yet the link differs: the earlier one was rewritten with a fresh hash.
                if (selfConsistent[i] && previous >= 0 && selfConsistent[previous])
                {
                    Modified(problems, rows[previous].Sequence, previous, "与下一条记录所记的哈希不符", "the next entry recorded a different hash for it");
                }
                else if (selfConsistent[i] && previous < 0)
                {
                    Modified(problems, row.Sequence, i, "链的起点被改动", "the start of the chain was changed");
                }
            }
            maxSeen = row.Sequence;
            previous = i;
        }

        foreach (var anchor in anchors ?? [])
        {
            int at = IndexOf(rows, inserted, anchor.Sequence);
            if (at < 0 || !string.Equals(rows[at].Hash, anchor.Hash, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add(new(AuditFindingKind.AnchorMismatch, anchor.Sequence, at + 1,
                    at < 0 ? $"锚点第 {anchor.Sequence} 条记录已不在链中。" : $"第 {anchor.Sequence} 条记录与保存的锚点哈希不符：链被重写过。",
                    at < 0 ? $"Anchored entry {anchor.Sequence} is no longer in the chain." : $"Entry {anchor.Sequence} no longer has the anchored hash: the chain was rewritten."));
            }
        }
        return problems
            .DistinctBy(p => (p.Kind, p.Sequence, p.StoredPosition))
            .OrderBy(p => p.Sequence).ThenBy(p => p.StoredPosition)
            .ToArray();
    }

    private static void Modified(List<AuditProblem> problems, long sequence, int index, string why, string whyEnglish)
    {
        if (problems.Any(p => p.Kind == AuditFindingKind.Modified && p.StoredPosition == index + 1))
        {
            return;
        }
        problems.Add(new(AuditFindingKind.Modified, sequence, index + 1,
            $"第 {sequence} 条记录被改动过：{why}。", $"Entry {sequence} was modified: {whyEnglish}."));
    }

    /// <summary>
    /// Of rows sharing a sequence number, the genuine one is on the chain: the next entry records its hash (or, at the
    /// end, it carries its predecessor's hash). The others were inserted.
    /// </summary>
    private static bool[] FindInsertedDuplicates(IReadOnlyList<AuditRecord> rows, bool[] selfConsistent)
    {
        var inserted = new bool[rows.Count];
        foreach (var group in Enumerable.Range(0, rows.Count).GroupBy(i => rows[i].Sequence).Where(g => g.Count() > 1))
        {
            long sequence = group.Key;
            var referencedByNext = Enumerable.Range(0, rows.Count)
                .Where(i => rows[i].Sequence == sequence + 1 && selfConsistent[i])
                .Select(i => rows[i].PreviousHash)
                .ToHashSet(StringComparer.Ordinal);
            var hashesBefore = Enumerable.Range(0, rows.Count)
                .Where(i => rows[i].Sequence == sequence - 1)
                .Select(i => rows[i].Hash)
                .Append(sequence == 1 ? AuditHashing.Genesis : "")
                .ToHashSet(StringComparer.Ordinal);
            int genuine = group.FirstOrDefault(i => referencedByNext.Contains(rows[i].Hash), -1);
            if (genuine < 0)
            {
                genuine = group.FirstOrDefault(i => selfConsistent[i] && hashesBefore.Contains(rows[i].PreviousHash), group.First());
            }
            foreach (int i in group.Where(i => i != genuine))
            {
                inserted[i] = true;
            }
        }
        return inserted;
    }

    private static int IndexOf(IReadOnlyList<AuditRecord> rows, bool[] inserted, long sequence)
    {
        for (int i = 0; i < rows.Count; i++)
        {
            if (!inserted[i] && rows[i].Sequence == sequence)
            {
                return i;
            }
        }
        return -1;
    }
}
