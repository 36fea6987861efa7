using Courtyard.Storage.Postgres;
using Courtyard.Testing;
using Npgsql;

namespace Courtyard.Storage.Tests;

/// <summary>
/// The relay's reads on PostgreSQL: the visibility a read of unsent rows reports, against a real transaction that drew
/// an outbox id and has not committed (the gap below the next row does not settle until it ends, and always settles
/// once it has), and a courtyard's backlog read from its own index.
/// </summary>
public sealed class PostgresOutboxTests : IAsyncLifetime
{
    private string connectionString = "";
    private PostgresStorageProvider storage = null!;

    public async Task InitializeAsync()
    {
        connectionString = await TestPostgres.CreateDatabaseAsync();
        storage = await PostgresStorageProvider.OpenAsync(connectionString);
    }

    public async Task DisposeAsync()
    {
        await storage.DisposeAsync();
        await TestPostgres.DropDatabaseAsync(connectionString);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_gap_held_by_an_open_transaction_settles_only_after_it_commits_or_rolls_back(bool commit)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var slow = await dataSource.OpenConnectionAsync();
        await using var transaction = await slow.BeginTransactionAsync();
        await using (var xid = new NpgsqlCommand(PostgresOutboxOrdering.TakeTransactionIdFirst, slow, transaction))
        {
            await xid.ExecuteScalarAsync();
        }
        long held;
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO outbox (partition, topic, event_type, payload) VALUES ('courtyard-1', 't', 'e', 'slow') RETURNING id", slow, transaction))
        {
            held = (long)(await insert.ExecuteScalarAsync())!;
        }
        var after = (await storage.Outbox.AppendAsync([new OutboxMessage("courtyard-1", "t", "e", "fast")]))[0];

        var firstSeen = await storage.Outbox.ReadUnsentAsync(10);
        Assert.Equal([after], firstSeen.Select(r => r.Id));   // a gap at the held id
        await storage.Outbox.AppendAsync([new OutboxMessage("courtyard-2", "t", "e", "meanwhile")]);   // others come and go
        var stillOpen = await storage.Outbox.ReadUnsentAsync(10);
        Assert.False(stillOpen.Visibility.Settles(firstSeen.Visibility), $"settled while the writer runs: {stillOpen.Visibility} vs {firstSeen.Visibility}");

        if (commit)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }

        // Settled as soon as the transactions running at the first read have ended (other tests share the cluster: wait for theirs too).
        UnsentRows ended = firstSeen;
        await Eventually.HoldsAsync(async () => (ended = await storage.Outbox.ReadUnsentAsync(10)).Visibility.Settles(firstSeen.Visibility),
            TimeSpan.FromSeconds(30), $"the gap first seen at {firstSeen.Visibility} settles after the writer ended");
        Assert.Equal(commit, ended.Any(r => r.Id == held));
    }

    [Fact]
    public async Task A_courtyards_backlog_is_read_from_the_index_on_courtyard_and_id_of_unsent_rows()
    {
        var rows = Enumerable.Range(0, 20_000).Select(i => new OutboxMessage(i % 100 == 0 ? "courtyard-blocked" : "courtyard-" + i % 50, "t", "e", "x")).ToList();
        var ids = await storage.Outbox.AppendAsync(rows);
        await storage.Outbox.MarkSentAsync(ids.Where((_, i) => i % 100 != 0 && i < 19_000).ToArray());
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var analyze = dataSource.CreateCommand("ANALYZE outbox")) await analyze.ExecuteNonQueryAsync();

        await using var explain = dataSource.CreateCommand("EXPLAIN " + PostgresSchema.ReadUnsentOfCourtyards);
        explain.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = ["courtyard-blocked"] });
        explain.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [ids[5_000]] });
        explain.Parameters.Add(new NpgsqlParameter<long> { TypedValue = ids[^1] });
        explain.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 512 });
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) plan.Add(reader.GetString(0));
        }

        Assert.Contains(plan, line => line.Contains("outbox_unsent_by_courtyard"));
        Assert.DoesNotContain(plan, line => line.Contains("Seq Scan on outbox"));
        var backlog = await storage.Outbox.ReadUnsentOfCourtyardsAsync([new CourtyardCursor("courtyard-blocked", ids[5_000])], ids[^1], 512);
        Assert.Equal(ids.Where((id, i) => i % 100 == 0 && id > ids[5_000]), backlog.Select(r => r.Id));
    }
}
