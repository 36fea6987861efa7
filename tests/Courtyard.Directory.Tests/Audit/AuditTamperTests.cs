using System.Data.Common;
using Courtyard.Directory.Audit;
using Courtyard.Directory.Tests.Support;
using Courtyard.Directory.V1;
using Courtyard.Testing.Authorization;
using Courtyard.Testing.Services;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Courtyard.Directory.Tests.Audit;

/// <summary>
/// Someone with access to the database changes the stored audit rows directly; verification (RPC and CLI) names each
/// changed row. The rows are the journal's rows in Directory's own database (table journal_events, SQLite or PostgreSQL),
/// changed with SQL as a database user would.
/// </summary>
public abstract class AuditTamperTests(TestStorage storage) : DirectoryScenario(storage)
{
    public sealed class OnSqlite() : AuditTamperTests(TestStorage.Sqlite);

    public sealed class OnPostgres() : AuditTamperTests(TestStorage.Postgres);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        // Six entries in the courtyard's chain: an import, then an account on behalf and a grant per resident.
        await Host.Client().ImportAsync(Admin, Territory.OwnCourtyardId, RollFiles.Utf8(RollFiles.Generate(2)));
        foreach (var resident in (await Host.Client().AllResidentsAsync(Admin, Territory.OwnCourtyardId)).Take(2))
        {
            var account = await Host.Client().CreateResidentAccountAsync(new CreateResidentAccountRequest
            {
                RequestId = Calls.NewRequestId(), ResidentId = resident.Id,
            }, AdminHeaders);
            await Host.Client().GrantRoleAsync(new GrantRoleRequest
            {
                RequestId = Calls.NewRequestId(), AccountId = account.AccountId, Role = Role.CommitteeMember, ScopeId = Territory.OwnCourtyardId,
            }, AdminHeaders);
        }
        await Host.EventsDeliveredAsync();
    }

    public enum Tamper { ChangeContent, ChangeContentAndRehash, Delete, Swap, InsertForged }

    [Theory]
    [InlineData(Tamper.ChangeContent, AuditFindingKind.Modified, 3)]
    [InlineData(Tamper.ChangeContentAndRehash, AuditFindingKind.Modified, 3)]
    [InlineData(Tamper.Delete, AuditFindingKind.Deleted, 3)]
    [InlineData(Tamper.Swap, AuditFindingKind.OutOfOrder, 3)]
    [InlineData(Tamper.InsertForged, AuditFindingKind.OutOfOrder, 3)]
    public async Task Verification_names_the_row_changed_in_storage(Tamper tamper, AuditFindingKind expected, long sequence)
    {
        var before = await Verify();
        Assert.True(before.Intact, string.Join("; ", before.Findings.Select(f => f.Message.En)));
        Assert.True(before.EntriesChecked >= 5);

        await TamperAsync(rows =>
        {
            switch (tamper)
            {
                case Tamper.ChangeContent:
                    rows[2].ActorId = "ac_someone_else";
                    break;
                case Tamper.ChangeContentAndRehash:
                    rows[2].ActorId = "ac_someone_else";
                    rows[2].Hash = AuditHashing.HashOf(rows[2]);
                    break;
                case Tamper.Delete:
                    rows.RemoveAt(2);
                    break;
                case Tamper.Swap:
                    (rows[2], rows[3]) = (rows[3], rows[2]);
                    break;
                case Tamper.InsertForged:
                    var forged = new AuditRecord
                    {
                        Sequence = 3, AtUnixMilliseconds = rows[1].AtUnixMilliseconds + 1, Kind = (int)AuditKind.RoleGranted,
                        ActorId = "ac_forger", SubjectId = "rg_forged.1", PreviousHash = rows[1].Hash,
                    };
                    forged.Hash = AuditHashing.HashOf(forged);
                    rows.Insert(2, forged);
                    break;
            }
        });

        var after = await Verify();

        Assert.False(after.Intact);
        var finding = Assert.Single(after.Findings);
        Assert.Equal(expected, finding.Kind);
        Assert.Equal(sequence, finding.Sequence);
        Assert.Contains($"{sequence}", finding.Message.ZhCn);
    }

    [Fact]
    public async Task Dropping_the_newest_rows_is_caught_by_the_anchor_the_auditor_kept()
    {
        var head = (await Verify()).Head;

        await TamperAsync(rows => rows.RemoveAt(rows.Count - 1));
        var after = await Verify(head);

        var finding = Assert.Single(after.Findings);
        Assert.Equal(AuditFindingKind.AnchorMismatch, finding.Kind);
        Assert.Equal(head.Sequence, finding.Sequence);
    }

    [Fact]
    public async Task The_cli_prints_the_tampered_row_and_exits_with_1()
    {
        var output = new StringWriter();
        string[] args = ["verify", "--server", Host.GrpcAddress.ToString(), "--chain", Territory.OwnCourtyardId, "--token", Admin];
        Assert.Equal(0, await AuditCli.RunAsync(args, output));
        Assert.Contains("完好", output.ToString());

        await TamperAsync(rows => rows[1].Details.Add(new("role", "committee_chair")));
        output = new StringWriter();
        int exit = await AuditCli.RunAsync(args, output);

        Assert.Equal(1, exit);
        Assert.Contains("Modified: #2", output.ToString());
        Assert.Contains("第 2 条记录被改动过", output.ToString());
    }

    [Fact]
    public async Task A_caller_without_a_role_in_the_courtyard_cannot_read_its_audit_chain()
    {
        string outsider = Host.Tokens.Mint("ac_outsider", [new Courtyard.Authorization.Claims.GrantClaim(Role.CommitteeChair, Territory.OtherCourtyardId)]);

        var refused = await Assert.ThrowsAsync<RpcException>(() => Host.Client().VerifyAuditLogAsync(
            new VerifyAuditLogRequest { ChainId = Territory.OwnCourtyardId }, DirectoryTestHost.Bearer(outsider)).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    private async Task<VerifyAuditLogResponse> Verify(AuditAnchor? anchor = null)
    {
        var request = new VerifyAuditLogRequest { ChainId = Territory.OwnCourtyardId };
        if (anchor is not null)
        {
            request.Anchors.Add(anchor);
        }
        return await Host.Client().VerifyAuditLogAsync(request, AdminHeaders);
    }

    /// <summary>
    /// Reads the chain's rows from the journal's table, lets the test change the list, and writes it back in list order
    /// (versions 1…n) with SQL, as someone with access to the database would: the grain is not involved.
    /// </summary>
    private async Task TamperAsync(Action<List<AuditRecord>> change)
    {
        var serializer = Host.Services.GetRequiredService<Serializer>();
        string stream = $"directory.audit_chain/{Territory.OwnCourtyardId}";
        await using var database = await Host.Host.OpenDatabaseAsync(DirectoryOptions.ServiceName);
        var rows = new List<AuditRecord>();
        await using (var read = Command(database, "SELECT data FROM journal_events WHERE stream = @stream ORDER BY version", ("stream", stream)))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows.Add(serializer.Deserialize<AuditRecord>(reader.GetFieldValue<byte[]>(0))!);
            }
        }
        Assert.NotEmpty(rows);
        change(rows);
        await using var transaction = await database.BeginTransactionAsync();
        await using (var delete = Command(database, "DELETE FROM journal_events WHERE stream = @stream", ("stream", stream)))
        {
            delete.Transaction = transaction;
            await delete.ExecuteNonQueryAsync();
        }
        for (int i = 0; i < rows.Count; i++)
        {
            await using var insert = Command(database, "INSERT INTO journal_events (stream, version, data) VALUES (@stream, @version, @data)",
                ("stream", stream), ("version", (long)i + 1), ("data", serializer.SerializeToArray(rows[i])));
            insert.Transaction = transaction;
            await insert.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    private static DbCommand Command(DbConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        return command;
    }
}
