using Courtyard.Storage.Postgres;
using Courtyard.Storage.Tests.Support;
using Courtyard.Testing;
using Npgsql;
using Orleans.Storage;

namespace Courtyard.Storage.Tests;

/// <summary>The conformance suite on a fresh database of the test PostgreSQL (scripts/postgres.sh) per test.</summary>
public sealed class PostgresConformanceTests : StorageConformanceTests
{
    private string? connectionString;

    private async Task<string> ConnectionStringAsync() => connectionString ??= await TestPostgres.CreateDatabaseAsync();

    protected override string[] WorkerTarget => ["postgres", connectionString!];

    protected override async Task<IStorageProvider> OpenAsync(StorageOptions options) => await PostgresStorageProvider.OpenAsync(await ConnectionStringAsync(), options);

    protected override async Task DeleteDatabaseAsync()
    {
        if (connectionString is not null) await TestPostgres.DropDatabaseAsync(connectionString);
    }

    [Fact]
    public async Task A_batch_without_a_transaction_is_all_or_nothing_as_the_group_commit_relies_on()
    {
        await using var dataSource = NpgsqlDataSource.Create(await ConnectionStringAsync());
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("INSERT INTO grain_state (state_type, key, data, version) VALUES ('t', 'k', '\\x00', 1)"),
                new NpgsqlBatchCommand("SELECT 1 / 0"),
            },
        };

        await Assert.ThrowsAsync<PostgresException>(() => batch.ExecuteNonQueryAsync());

        Assert.Null(await Storage.State.ReadAsync("t", "k"));
    }

    [Fact]
    public async Task The_schema_records_its_version_and_the_state_table_is_keyed_by_type_and_key()
    {
        await using var dataSource = NpgsqlDataSource.Create(await ConnectionStringAsync());
        await using var version = dataSource.CreateCommand("SELECT MAX(version) FROM schema_version");
        Assert.Equal(4, (int)(await version.ExecuteScalarAsync())!);
        await using var key = dataSource.CreateCommand(
            "SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) FROM pg_index i " +
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'grain_state'::regclass AND i.indisprimary");
        Assert.Equal("state_type,key", (string)(await key.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Reading_after_an_id_walks_the_unsent_rows_index_not_the_sent_rows()
    {
        var ids = await Storage.Outbox.AppendAsync(Enumerable.Range(0, 20_000).Select(i => new OutboxMessage("p" + i % 10, "t", "e", "x")).ToList());
        await Storage.Outbox.MarkSentAsync(ids.Take(19_990).ToArray());
        await using var dataSource = NpgsqlDataSource.Create(await ConnectionStringAsync());
        await using (var analyze = dataSource.CreateCommand("ANALYZE outbox")) await analyze.ExecuteNonQueryAsync();

        foreach (var afterId in new[] { 0L, ids[19_995] })
        {
            await using var explain = dataSource.CreateCommand("EXPLAIN " + PostgresSchema.ReadUnsentOutbox);
            explain.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 1000 });
            explain.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterId });
            var plan = new List<string>();
            await using var reader = await explain.ExecuteReaderAsync();
            while (await reader.ReadAsync()) plan.Add(reader.GetString(0));
            // From the start: the partial index skips the 19,990 sent rows. Near the tail the planner may also take the
            // primary key's range (only rows after the cursor are visited either way); never a scan of the table.
            Assert.DoesNotContain(plan, line => line.Contains("Seq Scan"));
            if (afterId == 0) Assert.Contains(plan, line => line.Contains("outbox_unsent"));
        }
        Assert.Equal(10, (await Storage.Outbox.ReadUnsentAsync(1000, 0)).Count);
        Assert.Equal(4, (await Storage.Outbox.ReadUnsentAsync(1000, ids[19_995])).Count);
    }

    [Fact]
    public async Task A_write_PostgreSQL_rejects_fails_alone_and_its_batch_neighbours_commit()
    {
        var writes = Enumerable.Range(0, 100).Select(i => Storage.State.WriteAsync(new StateWrite
        {
            StateType = "t", Key = "k" + i, Data = [1],
            // PostgreSQL text cannot hold NUL: this one write is invalid, the others are fine.
            Outbox = [new OutboxMessage("p", "t", "e", i == 50 ? "bad\0payload" : "ok")],
        })).ToArray();

        await Assert.ThrowsAsync<PostgresException>(() => writes[50]);
        foreach (var write in writes.Where((_, i) => i != 50)) Assert.Equal(1, (await write).NewVersion);
        Assert.Null(await Storage.State.ReadAsync("t", "k50"));
        Assert.Equal(99, (await Storage.Outbox.GetStatsAsync()).Unsent);
    }

    [Fact]
    public async Task A_write_racing_a_concurrent_inbox_mark_is_redone_alone_and_reports_already_consumed()
    {
        var mark = new InboxMark("rules", "councils", "race-1");
        var target = await ConnectionStringAsync();
        await using var other = new NpgsqlConnection(target);
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("INSERT INTO inbox (consumer, source, event_id) VALUES ('rules', 'councils', 'race-1')", other, transaction))
            await insert.ExecuteNonQueryAsync();

        // The batch does not see the uncommitted mark, changes the state, then waits on the mark's unique key.
        var write = Storage.State.WriteAsync(new StateWrite
        {
            StateType = "t", Key = "k", Data = [1], Consumes = mark, Outbox = [new OutboxMessage("p", "t", "e", "effect")],
        });
        await using (var monitor = new NpgsqlConnection(target))
        {
            await monitor.OpenAsync();
            await using var waiting = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", monitor);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((long)(await waiting.ExecuteScalarAsync())! == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the write never waited on the concurrent inbox mark");
                await Task.Delay(20);
            }
        }
        await transaction.CommitAsync();

        var result = await write;
        Assert.Equal(WriteOutcome.AlreadyConsumed, result.Outcome);
        Assert.Null(await Storage.State.ReadAsync("t", "k"));
        Assert.Equal(0, (await Storage.Outbox.GetStatsAsync()).Unsent);
    }

    [Fact]
    public async Task A_write_whose_commit_reply_is_lost_fails_as_outcome_unknown_never_as_a_conflict()
    {
        var direct = await ConnectionStringAsync();
        var target = new NpgsqlConnectionStringBuilder(direct);
        await using var proxy = new CuttingProxy(target.Host!, target.Port);
        await using var storage = await PostgresStorageProvider.OpenAsync(
            new NpgsqlConnectionStringBuilder(direct) { Port = proxy.Port }.ConnectionString);
        await storage.State.WriteAsync(Write("k", "v1", 0));

        proxy.CutNextServerReply();
        var lost = storage.State.WriteAsync(Write("k", "v2", 1, Event("e2")));

        var error = await Assert.ThrowsAnyAsync<Exception>(() => lost);
        Assert.Equal(1, proxy.Cuts);
        // The scenario is real: the server did commit the write whose reply was lost...
        await using (var check = await PostgresStorageProvider.OpenAsync(direct))
        {
            Assert.Equal(2, (await check.State.ReadAsync(Type, "k"))!.Version);
        }
        // ...so "conflict, nothing was written" would be a lie: the caller learns that the outcome is unknown.
        Assert.IsType<StorageOutcomeUnknownException>(error);
        Assert.Equal(3, (await storage.State.WriteAsync(Write("k", "v3", 2))).NewVersion);
    }

    [Fact]
    public async Task The_redo_of_a_failed_batch_has_a_deadline_and_a_write_blocked_past_it_fails_as_not_committed()
    {
        await Storage.DisposeAsync();
        Storage = await OpenAsync(new StorageOptions { PostgresRedoTimeout = TimeSpan.FromSeconds(1) });
        await Storage.State.WriteAsync(Write("0", "v1", 0));
        await Storage.State.WriteAsync(Write("b", "v1", 0));
        var target = await ConnectionStringAsync();
        await using var holder0 = new NpgsqlConnection(target);
        await using var holderB = new NpgsqlConnection(target);
        await holder0.OpenAsync();
        await holderB.OpenAsync();
        await using var lock0 = await holder0.BeginTransactionAsync();
        await using var lockB = await holderB.BeginTransactionAsync();
        await using (var select = new NpgsqlCommand($"SELECT 1 FROM grain_state WHERE key = '0' FOR UPDATE", holder0, lock0)) await select.ExecuteNonQueryAsync();
        await using (var select = new NpgsqlCommand($"SELECT 1 FROM grain_state WHERE key = 'b' FOR UPDATE", holderB, lockB)) await select.ExecuteNonQueryAsync();

        // "0" holds the writer on its lock, so "a" (invalid: NUL in text) and "b" queue up and share the next batch.
        var first = Storage.State.WriteAsync(Write("0", "v2", 1));
        await Task.Delay(300);
        var invalid = Storage.State.WriteAsync(Write("a", "x", 0, new OutboxMessage("p", "t", "e", "bad\0payload")));
        var blocked = Storage.State.WriteAsync(Write("b", "v2", 1));
        await lock0.CommitAsync();
        Assert.Equal(2, (await first).NewVersion);

        await Assert.ThrowsAsync<PostgresException>(() => invalid);
        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("not committed", timeout.Message);
        await lockB.RollbackAsync();
        Assert.Equal(1, (await Storage.State.ReadAsync(Type, "b"))!.Version);
    }

    [Fact]
    public async Task Every_connection_of_the_provider_commits_synchronously_whatever_the_database_default()
    {
        var target = await ConnectionStringAsync();
        await using (var admin = NpgsqlDataSource.Create(target))
        await using (var alter = admin.CreateCommand($"ALTER DATABASE {new NpgsqlConnectionStringBuilder(target).Database} SET synchronous_commit = off"))
            await alter.ExecuteNonQueryAsync();
        await using (var plain = new NpgsqlConnection(target))
        {
            await plain.OpenAsync();
            await using var show = new NpgsqlCommand("SHOW synchronous_commit", plain);
            Assert.Equal("off", (string)(await show.ExecuteScalarAsync())!);   // the default the provider must not inherit
        }

        await using var storage = await PostgresStorageProvider.OpenAsync(target);

        Assert.Equal("on", await storage.ReadSettingAsync("synchronous_commit"));
        Assert.Equal("on", await storage.ReadSettingAsync("fsync"));
    }

    [Fact]
    public void A_server_running_without_fsync_is_refused_unless_explicitly_allowed()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => DurabilityCheck.Verify("off", "on", allowWithoutFsync: false));
        Assert.Contains("fsync = off", refused.Message);
        Assert.Contains("fsync", refused.Message.Split('\n')[0]);
        DurabilityCheck.Verify("off", "on", allowWithoutFsync: true);
        DurabilityCheck.Verify("on", "on", allowWithoutFsync: false);
        Assert.Throws<InvalidOperationException>(() => DurabilityCheck.Verify("on", "off", allowWithoutFsync: false));
    }

    private static StateWrite Write(string key, string data, long expectedVersion, params OutboxMessage[] outbox) => new()
    {
        StateType = Type, Key = key, Data = System.Text.Encoding.UTF8.GetBytes(data), ExpectedVersion = expectedVersion, Outbox = outbox,
    };

    private static OutboxMessage Event(string payload) => new("courtyard-1", "councils", "courtyard.councils.proposal_passed.v1", payload);

    private const string Type = "Councils.Proposal";
}

/// <summary>The conformance suite again with two PostgreSQL writer loops committing batches in parallel.</summary>
public sealed class PostgresTwoWriterLoopsConformanceTests : StorageConformanceTests
{
    private string? connectionString;

    protected override string[] WorkerTarget => ["postgres", connectionString!];

    protected override async Task<IStorageProvider> OpenAsync(StorageOptions options) => await PostgresStorageProvider.OpenAsync(
        connectionString ??= await TestPostgres.CreateDatabaseAsync(), options with { PostgresWriterConnections = 2 });

    protected override async Task DeleteDatabaseAsync()
    {
        if (connectionString is not null) await TestPostgres.DropDatabaseAsync(connectionString);
    }
}
