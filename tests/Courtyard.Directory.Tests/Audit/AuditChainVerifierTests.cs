using Courtyard.Directory.Audit;
using Courtyard.Directory.V1;

namespace Courtyard.Directory.Tests.Audit;

/// <summary>The verifier on chains built in memory: each kind of tampering is named at the right row, and nothing else is.</summary>
public sealed class AuditChainVerifierTests
{
    private static List<AuditRecord> Chain(int length)
    {
        var rows = new List<AuditRecord>();
        string previous = AuditHashing.Genesis;
        for (int i = 1; i <= length; i++)
        {
            var row = new AuditRecord
            {
                Sequence = i, AtUnixMilliseconds = 1_800_000_000_000 + i, Kind = (int)AuditKind.RoleGranted, ActorId = "ac_chair",
                SubjectId = $"rg_cy_x.{i}", Details = [new("role", "volunteer")], PreviousHash = previous,
            };
            row.Hash = AuditHashing.HashOf(row);
            previous = row.Hash;
            rows.Add(row);
        }
        return rows;
    }

    [Fact]
    public void An_untouched_chain_has_no_findings() => Assert.Empty(AuditChainVerifier.Verify(Chain(10)));

    [Fact]
    public void The_hash_covers_every_field()
    {
        var row = Chain(1)[0];
        string original = AuditHashing.HashOf(row);
        foreach (var change in new Action<AuditRecord>[]
        {
            r => r.Sequence++, r => r.AtUnixMilliseconds++, r => r.Kind++, r => r.ActorId += "x", r => r.SubjectId += "x",
            r => r.Details[0] = new("role", "chair"), r => r.Details.Add(new("extra", "")), r => r.PreviousHash = new string('1', 64),
        })
        {
            var copy = Chain(1)[0];
            change(copy);
            Assert.NotEqual(original, AuditHashing.HashOf(copy));
        }
    }

    [Fact]
    public void Moving_an_old_row_to_the_end_names_that_row()
    {
        var rows = Chain(6);
        var moved = rows[1];
        rows.RemoveAt(1);
        rows.Add(moved);

        var finding = Assert.Single(AuditChainVerifier.Verify(rows));

        Assert.Equal(AuditFindingKind.OutOfOrder, finding.Kind);
        Assert.Equal(2, finding.Sequence);
        Assert.Equal(6, finding.StoredPosition);
    }

    [Fact]
    public void Deleting_several_rows_names_each()
    {
        var rows = Chain(8);
        rows.RemoveRange(3, 2);

        var findings = AuditChainVerifier.Verify(rows);

        Assert.Equal([4L, 5L], findings.Select(f => f.Sequence));
        Assert.All(findings, f => Assert.Equal(AuditFindingKind.Deleted, f.Kind));
    }

    [Fact]
    public void Changing_the_first_row_and_its_hash_is_caught_by_the_next_row()
    {
        var rows = Chain(3);
        rows[0].ActorId = "ac_other";
        rows[0].Hash = AuditHashing.HashOf(rows[0]);

        var finding = Assert.Single(AuditChainVerifier.Verify(rows));

        Assert.Equal((AuditFindingKind.Modified, 1L), (finding.Kind, finding.Sequence));
    }
}
