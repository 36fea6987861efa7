using Google.Protobuf;
using Npgsql;

namespace Courtyard.Events.Testing;

/// <summary>
/// Real concurrent PostgreSQL transactions that append outbox rows the way the storage provider does (the transaction
/// takes its xid first, then draws the id), but hold each transaction open for a random time before committing, and
/// roll some back: lower ids then become visible after higher ones, and some never do. For the relay's ordering tests.
/// </summary>
public static class SlowPostgresWriters
{
    public const string TakeXidFirst = "SELECT pg_current_xact_id()";
    public const string AppendRow =
        "INSERT INTO outbox (partition, topic, event_type, payload) VALUES ($1, $2, $3, $4) RETURNING id";

    /// <summary>Runs <paramref name="count"/> transactions over <paramref name="writers"/> connections; returns how many committed.</summary>
    public static async Task<int> RunAsync(string connectionString, int courtyards, int count, int writers, int seed, string tag,
        TimeSpan? maxDelay = null, CancellationToken cancellationToken = default)
    {
        var longest = (int)(maxDelay ?? TimeSpan.FromMilliseconds(250)).TotalMilliseconds;
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var next = -1;
        var committed = 0;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var random = new Random(seed * 1000 + w);
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            int n;
            while ((n = Interlocked.Increment(ref next)) < count)
            {
                var courtyard = $"courtyard-{random.Next(courtyards)}";
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using (var xid = new NpgsqlCommand(TakeXidFirst, connection, transaction))
                {
                    await xid.ExecuteScalarAsync(cancellationToken);
                }
                await using (var insert = new NpgsqlCommand(AppendRow, connection, transaction))
                {
                    insert.Parameters.AddWithValue(courtyard);
                    insert.Parameters.AddWithValue(TestEvents.Topic);
                    insert.Parameters.AddWithValue(TestEvents.ThingHappenedType);
                    insert.Parameters.AddWithValue(JsonFormatter.Default.Format(new ThingHappened { ThingId = $"{tag}/{n}", Sequence = n }));
                    await insert.ExecuteScalarAsync(cancellationToken);
                }
                await Task.Delay(random.Next(longest), cancellationToken);
                if (random.Next(10) == 0)
                {
                    await transaction.RollbackAsync(cancellationToken);
                }
                else
                {
                    await transaction.CommitAsync(cancellationToken);
                    Interlocked.Increment(ref committed);
                }
            }
        }, cancellationToken)));
        return committed;
    }
}
