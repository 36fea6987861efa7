using Npgsql;

namespace Courtyard.Storage.Postgres;

/// <summary>The PostgreSQL schema and the statements of the stores other than the state writes.</summary>
internal static class PostgresSchema
{
    /// <summary>Migrations in order; each runs once, recorded in schema_version. Append, never edit.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS grain_state (
            state_type text NOT NULL,
            key text NOT NULL,
            data bytea NOT NULL,
            version bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (state_type, key)
        ) WITH (fillfactor = 80); -- room on the page keeps version updates HOT (no index write)
        CREATE TABLE IF NOT EXISTS outbox (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            partition text NOT NULL,
            topic text NOT NULL,
            event_type text NOT NULL,
            payload text NOT NULL,
            trace_parent text,
            created_at timestamptz NOT NULL DEFAULT now(),
            attempts integer NOT NULL DEFAULT 0,
            sent_at timestamptz);
        CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
        CREATE TABLE IF NOT EXISTS inbox (
            consumer text NOT NULL,
            source text NOT NULL,
            event_id text NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, source, event_id));
        CREATE TABLE IF NOT EXISTS dead_letters (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            consumer text NOT NULL,
            source text NOT NULL,
            event_id text NOT NULL,
            event_type text NOT NULL,
            topic text NOT NULL,
            partition text NOT NULL,
            cloud_event_json text NOT NULL,
            last_error text NOT NULL,
            attempts integer NOT NULL,
            dead_at timestamptz NOT NULL);
        CREATE INDEX IF NOT EXISTS dead_letters_by_consumer ON dead_letters (consumer, id);
        CREATE TABLE IF NOT EXISTS reminders (
            grain_type text NOT NULL,
            key text NOT NULL,
            name text NOT NULL,
            due_at timestamptz NOT NULL,
            period interval,
            PRIMARY KEY (grain_type, key, name));
        CREATE INDEX IF NOT EXISTS reminders_by_due ON reminders (due_at);
        -- Raised inside a state-write batch that must be redone write by write (see PostgresStateWriter).
        CREATE OR REPLACE FUNCTION courtyard_retry_alone() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $body$
        BEGIN
            RAISE EXCEPTION 'an inbox mark was recorded concurrently; the batch is redone write by write' USING ERRCODE = 'CY001';
        END
        $body$;
        """,
        """
        -- One relay per outbox: the holder renews its row; another replica takes over once expires_at has passed.
        CREATE TABLE IF NOT EXISTS relay_leases (
            name text PRIMARY KEY,
            holder text NOT NULL,
            expires_at timestamptz NOT NULL);
        -- Retention: the purges find old sent rows and old marks without scanning the tables.
        CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS inbox_by_recorded_at ON inbox (recorded_at);
        """,
        """
        -- Migration 3. Clearing keeps a tombstone (data NULL) whose version only increases: a writer holding a version
        -- from before the clear must still conflict.
        ALTER TABLE grain_state ALTER COLUMN data DROP NOT NULL;
        -- Reminders as Orleans' IReminderTable keeps them (the old table served the grain runtime Orleans replaced).
        DROP TABLE IF EXISTS reminders;
        CREATE TABLE reminders (
            grain_id text NOT NULL,
            name text NOT NULL,
            grain_hash bigint NOT NULL,
            start_at timestamptz NOT NULL,
            period_ticks bigint NOT NULL,
            etag bigint NOT NULL,
            PRIMARY KEY (grain_id, name));
        CREATE INDEX reminders_by_hash ON reminders (grain_hash);
        -- Journals of JournaledGrains: one head row per stream (version, latest snapshot), the events by version.
        CREATE TABLE journal_streams (
            stream text PRIMARY KEY,
            version bigint NOT NULL,
            snapshot bytea,
            snapshot_version bigint NOT NULL,
            last_batch uuid NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        ) WITH (fillfactor = 80);
        CREATE TABLE journal_events (
            stream text NOT NULL,
            version bigint NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (stream, version));
        """,
        """
        -- 4 (events): rows the transport keeps refusing are parked (producer-side dead letters) with their error, and a
        -- blocked courtyard's backlog is read from its own index instead of from the whole outbox.
        ALTER TABLE outbox ADD COLUMN IF NOT EXISTS parked_at timestamptz;
        ALTER TABLE outbox ADD COLUMN IF NOT EXISTS last_error text;
        CREATE INDEX IF NOT EXISTS outbox_unsent_by_courtyard ON outbox (partition, id) WHERE sent_at IS NULL;
        CREATE INDEX IF NOT EXISTS outbox_parked ON outbox (id) WHERE parked_at IS NOT NULL AND sent_at IS NULL;
        """,
    ];

    // Serializes concurrent migrations of one database (two replicas starting at once).
    private const long MigrationLockKey = 0x436F757274796172; // "Courtyar"

    public static async Task MigrateAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockMigrations = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            lockMigrations.Parameters.Add(new NpgsqlParameter<long> { TypedValue = MigrationLockKey });
            await lockMigrations.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var create = new NpgsqlCommand(
            "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        int current;
        await using (var read = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_version", connection, transaction))
        {
            current = (int)(await read.ExecuteScalarAsync(cancellationToken))!;
        }
        if (current > Migrations.Length)
            throw new InvalidOperationException($"The database schema is version {current}, newer than this build knows ({Migrations.Length}).");
        for (var version = current + 1; version <= Migrations.Length; version++)
        {
            await using var migrate = new NpgsqlCommand(Migrations[version - 1], connection, transaction);
            await migrate.ExecuteNonQueryAsync(cancellationToken);
            await using var record = new NpgsqlCommand("INSERT INTO schema_version (version) VALUES ($1)", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
            await record.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public const string ReadState = "SELECT data, version FROM grain_state WHERE state_type = $1 AND key = $2";
    public const string ReadStateVersion = "SELECT version FROM grain_state WHERE state_type = $1 AND key = $2";
    public const string ReadJournalVersion = "SELECT version FROM journal_streams WHERE stream = $1";
    public const string ReadJournalHead = "SELECT version, snapshot, snapshot_version, last_batch FROM journal_streams WHERE stream = $1";
    public const string ReadJournalEvents = "SELECT data FROM journal_events WHERE stream = $1 AND version > $2 AND version <= $3 ORDER BY version";
    public const string ReadJournalRows = "SELECT version, data FROM journal_events WHERE stream = $1 AND version > $2 ORDER BY version LIMIT $3";

    private const string OutboxColumns = "id, partition, topic, event_type, payload, trace_parent, created_at, attempts, parked_at, last_error";

    // The rows come from the partial index outbox_unsent (id > $2 is its range condition). The visibility is the same
    // statement's snapshot: its xmin, and the next xid to be assigned (xmin + age(xmin): age() measures from the next xid
    // when the reading transaction has none), read after the snapshot was taken.
    public const string ReadUnsentOutbox =
        $"""
        WITH v AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS oldest_running)
        SELECT v.oldest_running, v.oldest_running + age((v.oldest_running % 4294967296)::text::xid), o.*
        FROM v LEFT JOIN LATERAL (
            SELECT {OutboxColumns} FROM outbox WHERE sent_at IS NULL AND id > $2 ORDER BY id LIMIT $1) o ON true
        ORDER BY o.id
        """;
    // One index range per courtyard (outbox_unsent_by_courtyard), all in one round trip.
    public const string ReadUnsentOfCourtyards =
        $"""
        SELECT o.* FROM unnest($1::text[], $2::bigint[]) AS c(partition, after_id)
        CROSS JOIN LATERAL (
            SELECT {OutboxColumns} FROM outbox
            WHERE partition = c.partition AND id > c.after_id AND id <= $3 AND sent_at IS NULL ORDER BY id LIMIT $4) o
        ORDER BY o.id
        """;
    public const string MarkOutboxSent = "UPDATE outbox SET sent_at = now() WHERE id = ANY($1) AND sent_at IS NULL";
    public const string RecordOutboxAttempt = "UPDATE outbox SET attempts = attempts + 1, last_error = COALESCE($2, last_error) WHERE id = $1";
    public const string ParkOutboxRow = "UPDATE outbox SET parked_at = now(), last_error = $2, attempts = attempts + 1 WHERE id = $1 AND sent_at IS NULL";
    public const string ListParkedOutbox =
        $"SELECT {OutboxColumns} FROM outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL ORDER BY id LIMIT $1";
    public const string ReleaseParkedOutbox =
        "UPDATE outbox SET parked_at = NULL, attempts = 0 WHERE id = $1 AND parked_at IS NOT NULL AND sent_at IS NULL";
    public const string DiscardParkedOutbox = "DELETE FROM outbox WHERE id = $1 AND parked_at IS NOT NULL AND sent_at IS NULL";
    public const string AppendOutbox =
        """
        INSERT INTO outbox (partition, topic, event_type, payload, trace_parent)
        SELECT m.partition, m.topic, m.event_type, m.payload, m.trace_parent
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
             AS m(partition, topic, event_type, payload, trace_parent, ordinal)
        ORDER BY m.ordinal
        RETURNING id
        """;
    public const string OutboxStats =
        "SELECT COUNT(*), MIN(created_at), COUNT(*) FILTER (WHERE parked_at IS NOT NULL) FROM outbox WHERE sent_at IS NULL";
    public const string PurgeSentOutbox =
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE sent_at < $1 ORDER BY sent_at LIMIT $2)";

    // Times are the database's (now()), so replicas with skewed clocks still agree on who holds the lease.
    public const string AcquireRelayLease =
        """
        INSERT INTO relay_leases (name, holder, expires_at) VALUES ($1, $2, now() + $3)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE relay_leases.holder = excluded.holder OR relay_leases.expires_at <= now()
        """;
    public const string ReleaseRelayLease = "DELETE FROM relay_leases WHERE name = $1 AND holder = $2";
    public const string ReadRelayLease = "SELECT holder, expires_at FROM relay_leases WHERE name = $1";

    public const string InsertInbox = "INSERT INTO inbox (consumer, source, event_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    public const string ContainsInbox = "SELECT 1 FROM inbox WHERE consumer = $1 AND source = $2 AND event_id = $3";
    public const string PurgeInbox =
        "DELETE FROM inbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM inbox WHERE recorded_at < $1 LIMIT $2))";

    private const string DeadLetterColumns =
        "id, consumer, source, event_id, event_type, topic, partition, cloud_event_json, last_error, attempts, dead_at";
    public const string InsertDeadLetter =
        """
        INSERT INTO dead_letters (consumer, source, event_id, event_type, topic, partition, cloud_event_json, last_error, attempts, dead_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id
        """;
    public const string ListDeadLetters = $"SELECT {DeadLetterColumns} FROM dead_letters ORDER BY id LIMIT $1";
    public const string ListDeadLettersOfConsumer = $"SELECT {DeadLetterColumns} FROM dead_letters WHERE consumer = $2 ORDER BY id LIMIT $1";
    public const string GetDeadLetter = $"SELECT {DeadLetterColumns} FROM dead_letters WHERE id = $1";
    public const string DeleteDeadLetter = "DELETE FROM dead_letters WHERE id = $1";
    public const string CountDeadLetters = "SELECT COUNT(*) FROM dead_letters";

    public const string UpsertReminder =
        """
        INSERT INTO reminders (grain_id, name, grain_hash, start_at, period_ticks, etag) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (grain_id, name) DO UPDATE SET grain_hash = excluded.grain_hash, start_at = excluded.start_at,
            period_ticks = excluded.period_ticks, etag = excluded.etag
        """;
    public const string DeleteReminder = "DELETE FROM reminders WHERE grain_id = $1 AND name = $2 AND etag = $3";
    // start_at as microseconds since 1970, as ReminderRows reads it.
    private const string ReminderColumns = "grain_id, name, (extract(epoch FROM start_at) * 1000000)::bigint, period_ticks, etag";
    public const string ReadRemindersOfGrain = $"SELECT {ReminderColumns} FROM reminders WHERE grain_id = $1";
    public const string ReadReminder = $"SELECT {ReminderColumns} FROM reminders WHERE grain_id = $1 AND name = $2";
    public const string ReadRemindersInRange = $"SELECT {ReminderColumns} FROM reminders WHERE grain_hash > $1 AND grain_hash <= $2";
    public const string ReadRemindersOutsideRange = $"SELECT {ReminderColumns} FROM reminders WHERE grain_hash > $1 OR grain_hash <= $2";
    public const string ClearReminders = "DELETE FROM reminders";
}
