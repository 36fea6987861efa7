using Microsoft.Data.Sqlite;

namespace Courtyard.Storage.Sqlite;

/// <summary>The SQLite schema (timestamps are INTEGER microseconds since the Unix epoch, UTC) and the statements over it.</summary>
internal static class SqliteSchema
{
    /// <summary>Migrations in order; each runs once, recorded in schema_version. Append, never edit.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS grain_state (
            state_type TEXT NOT NULL,
            key TEXT NOT NULL,
            data BLOB NOT NULL,
            version INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (state_type, key));
        -- AUTOINCREMENT: an id is an event id (CloudEvents id, inbox key); it must never be reused.
        CREATE TABLE IF NOT EXISTS outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            "partition" TEXT NOT NULL,
            topic TEXT NOT NULL,
            event_type TEXT NOT NULL,
            payload TEXT NOT NULL,
            trace_parent TEXT,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            sent_at INTEGER);
        CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
        CREATE TABLE IF NOT EXISTS inbox (
            consumer TEXT NOT NULL,
            source TEXT NOT NULL,
            event_id TEXT NOT NULL,
            recorded_at INTEGER NOT NULL,
            PRIMARY KEY (consumer, source, event_id));
        CREATE TABLE IF NOT EXISTS dead_letters (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            consumer TEXT NOT NULL,
            source TEXT NOT NULL,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            topic TEXT NOT NULL,
            "partition" TEXT NOT NULL,
            cloud_event_json TEXT NOT NULL,
            last_error TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            dead_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS dead_letters_by_consumer ON dead_letters (consumer, id);
        CREATE TABLE IF NOT EXISTS reminders (
            grain_type TEXT NOT NULL,
            key TEXT NOT NULL,
            name TEXT NOT NULL,
            due_at INTEGER NOT NULL,
            period INTEGER,
            PRIMARY KEY (grain_type, key, name));
        CREATE INDEX IF NOT EXISTS reminders_by_due ON reminders (due_at);
        """,
        """
        -- One relay per outbox: the holder renews its row; another replica takes over once expires_at has passed.
        CREATE TABLE IF NOT EXISTS relay_leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_at INTEGER NOT NULL);
        -- Retention: the purges find old sent rows and old marks without scanning the tables.
        CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS inbox_by_recorded_at ON inbox (recorded_at);
        """,
        """
        -- Migration 3. Clearing keeps a tombstone (data NULL) whose version only increases: a writer holding a version
        -- from before the clear must still conflict. SQLite cannot drop NOT NULL in place, so the table is rebuilt.
        CREATE TABLE grain_state_v3 (
            state_type TEXT NOT NULL,
            key TEXT NOT NULL,
            data BLOB,
            version INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (state_type, key));
        INSERT INTO grain_state_v3 (state_type, key, data, version, updated_at) SELECT state_type, key, data, version, updated_at FROM grain_state;
        DROP TABLE grain_state;
        ALTER TABLE grain_state_v3 RENAME TO grain_state;
        -- Reminders as Orleans' IReminderTable keeps them (the old table served the grain runtime Orleans replaced).
        DROP TABLE IF EXISTS reminders;
        CREATE TABLE reminders (
            grain_id TEXT NOT NULL,
            name TEXT NOT NULL,
            grain_hash INTEGER NOT NULL,
            start_at INTEGER NOT NULL,
            period_ticks INTEGER NOT NULL,
            etag INTEGER NOT NULL,
            PRIMARY KEY (grain_id, name));
        CREATE INDEX reminders_by_hash ON reminders (grain_hash);
        -- Journals of JournaledGrains: one head row per stream (version, latest snapshot), the events by version.
        CREATE TABLE journal_streams (
            stream TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            snapshot BLOB,
            snapshot_version INTEGER NOT NULL,
            last_batch BLOB NOT NULL,
            updated_at INTEGER NOT NULL);
        CREATE TABLE journal_events (
            stream TEXT NOT NULL,
            version INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (stream, version)) WITHOUT ROWID;
        """,
        """
        -- 4 (events): rows the transport keeps refusing are parked (producer-side dead letters) with their error, and a
        -- blocked courtyard's backlog is read from its own index instead of from the whole outbox.
        ALTER TABLE outbox ADD COLUMN parked_at INTEGER;
        ALTER TABLE outbox ADD COLUMN last_error TEXT;
        CREATE INDEX IF NOT EXISTS outbox_unsent_by_courtyard ON outbox ("partition", id) WHERE sent_at IS NULL;
        CREATE INDEX IF NOT EXISTS outbox_parked ON outbox (id) WHERE parked_at IS NOT NULL AND sent_at IS NULL;
        """,
    ];

    public static int LatestVersion => Migrations.Length;

    /// <summary>Creates or migrates the schema; safe to run on every open and from several processes.</summary>
    public static void Migrate(SqliteConnection connection)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)";
            create.ExecuteNonQuery();
        }
        long current;
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
            current = (long)read.ExecuteScalar()!;
        }
        if (current > Migrations.Length)
            throw new InvalidOperationException($"The database schema is version {current}, newer than this build knows ({Migrations.Length}).");
        for (var version = (int)current + 1; version <= Migrations.Length; version++)
        {
            using var migrate = connection.CreateCommand();
            migrate.Transaction = transaction;
            migrate.CommandText = Migrations[version - 1] + "\nINSERT INTO schema_version (version, applied_at) VALUES ($1, $2);";
            migrate.Parameters.AddWithValue("$1", version);
            migrate.Parameters.AddWithValue("$2", StorageTime.NowUnixMicroseconds());
            migrate.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    public const string InsertState =
        "INSERT INTO grain_state (state_type, key, data, version, updated_at) VALUES ($1, $2, $3, 1, $4) ON CONFLICT DO NOTHING";
    public const string UpdateState =
        "UPDATE grain_state SET data = $3, version = version + 1, updated_at = $4 WHERE state_type = $1 AND key = $2 AND version = $5";
    public const string ClearState =
        "UPDATE grain_state SET data = NULL, version = version + 1, updated_at = $4 WHERE state_type = $1 AND key = $2 AND version = $3";
    public const string ReadVersion = "SELECT version FROM grain_state WHERE state_type = $1 AND key = $2";
    public const string ReadState = "SELECT data, version FROM grain_state WHERE state_type = $1 AND key = $2";

    public const string InsertOutbox =
        """INSERT INTO outbox ("partition", topic, event_type, payload, trace_parent, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""";
    private const string OutboxColumns =
        """id, "partition", topic, event_type, payload, trace_parent, created_at, attempts, parked_at, last_error""";
    // INDEXED BY: the cursor must walk the unsent rows' index, never the table's sent rows (an error if it could not).
    public const string ReadUnsentOutbox =
        $"SELECT {OutboxColumns} FROM outbox INDEXED BY outbox_unsent WHERE sent_at IS NULL AND id > $2 ORDER BY id LIMIT $1";
    public const string ReadUnsentOfCourtyard =
        $"""
        SELECT {OutboxColumns} FROM outbox INDEXED BY outbox_unsent_by_courtyard
        WHERE "partition" = $1 AND id > $2 AND id <= $3 AND sent_at IS NULL ORDER BY id LIMIT $4
        """;
    public const string MarkOutboxSent = "UPDATE outbox SET sent_at = $2 WHERE id = $1 AND sent_at IS NULL";
    public const string RecordOutboxAttempt = "UPDATE outbox SET attempts = attempts + 1, last_error = COALESCE($2, last_error) WHERE id = $1";
    public const string ParkOutboxRow = "UPDATE outbox SET parked_at = $3, last_error = $2, attempts = attempts + 1 WHERE id = $1 AND sent_at IS NULL";
    public const string ListParkedOutbox =
        $"SELECT {OutboxColumns} FROM outbox WHERE parked_at IS NOT NULL AND sent_at IS NULL ORDER BY id LIMIT $1";
    public const string ReleaseParkedOutbox =
        "UPDATE outbox SET parked_at = NULL, attempts = 0 WHERE id = $1 AND parked_at IS NOT NULL AND sent_at IS NULL";
    public const string DiscardParkedOutbox = "DELETE FROM outbox WHERE id = $1 AND parked_at IS NOT NULL AND sent_at IS NULL";
    public const string OutboxStats =
        "SELECT COUNT(*), MIN(created_at), COUNT(parked_at) FROM outbox INDEXED BY outbox_unsent WHERE sent_at IS NULL";
    public const string PurgeSentOutbox =
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1 ORDER BY sent_at LIMIT $2)";

    public const string AcquireRelayLease =
        """
        INSERT INTO relay_leases (name, holder, expires_at) VALUES ($1, $2, $3)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE relay_leases.holder = excluded.holder OR relay_leases.expires_at <= $4
        """;
    public const string ReleaseRelayLease = "DELETE FROM relay_leases WHERE name = $1 AND holder = $2";
    public const string ReadRelayLease = "SELECT holder, expires_at FROM relay_leases WHERE name = $1";

    public const string InsertInbox =
        "INSERT INTO inbox (consumer, source, event_id, recorded_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
    public const string DeleteInbox = "DELETE FROM inbox WHERE consumer = $1 AND source = $2 AND event_id = $3";
    public const string ContainsInbox = "SELECT 1 FROM inbox WHERE consumer = $1 AND source = $2 AND event_id = $3";
    public const string PurgeInbox = "DELETE FROM inbox WHERE rowid IN (SELECT rowid FROM inbox WHERE recorded_at < $1 LIMIT $2)";

    private const string DeadLetterColumns =
        """id, consumer, source, event_id, event_type, topic, "partition", cloud_event_json, last_error, attempts, dead_at""";
    public const string InsertDeadLetter =
        """
        INSERT INTO dead_letters (consumer, source, event_id, event_type, topic, "partition", cloud_event_json, last_error, attempts, dead_at)
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
    private const string ReminderColumns = "grain_id, name, start_at, period_ticks, etag";
    public const string ReadRemindersOfGrain = $"SELECT {ReminderColumns} FROM reminders WHERE grain_id = $1";
    public const string ReadReminder = $"SELECT {ReminderColumns} FROM reminders WHERE grain_id = $1 AND name = $2";
    public const string ReadRemindersInRange = $"SELECT {ReminderColumns} FROM reminders WHERE grain_hash > $1 AND grain_hash <= $2";
    public const string ReadRemindersOutsideRange = $"SELECT {ReminderColumns} FROM reminders WHERE grain_hash > $1 OR grain_hash <= $2";
    public const string ClearReminders = "DELETE FROM reminders";

    public const string ReadJournalHead = "SELECT version, snapshot, snapshot_version, last_batch FROM journal_streams WHERE stream = $1";
    public const string ReadJournalEvents = "SELECT data FROM journal_events WHERE stream = $1 AND version > $2 ORDER BY version";
    public const string ReadJournalRows = "SELECT version, data FROM journal_events WHERE stream = $1 AND version > $2 ORDER BY version LIMIT $3";
    public const string InsertJournalHead =
        "INSERT INTO journal_streams (stream, version, snapshot, snapshot_version, last_batch, updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
    public const string AdvanceJournalHead =
        """
        UPDATE journal_streams SET version = $2, last_batch = $5, updated_at = $6,
            snapshot = CASE WHEN $3 IS NULL THEN snapshot ELSE $3 END,
            snapshot_version = CASE WHEN $3 IS NULL THEN snapshot_version ELSE $4 END
        WHERE stream = $1 AND version = $7
        """;
    public const string InsertJournalEvent = "INSERT INTO journal_events (stream, version, data) VALUES ($1, $2, $3)";
    public const string ReadJournalVersion = "SELECT version FROM journal_streams WHERE stream = $1";
}
