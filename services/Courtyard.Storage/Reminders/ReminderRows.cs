using System.Data.Common;
using System.Globalization;
using Orleans;
using Orleans.Runtime;

namespace Courtyard.Storage;

/// <summary>
/// How both providers keep an Orleans reminder: grain id (text) and name as the key, the grain's uniform hash for
/// Orleans' range reads, the start time (UTC microseconds), the period in ticks, and a random 63-bit ETag per upsert
/// (a counter would start over when a reminder is removed and registered again, letting a stale ETag remove the new one).
/// </summary>
internal static class ReminderRows
{
    public static long StartAt(ReminderEntry entry) =>
        StorageTime.ToUnixMicroseconds(new DateTimeOffset(DateTime.SpecifyKind(entry.StartAt.ToUniversalTime(), DateTimeKind.Utc)));

    public static long NewETag() => Random.Shared.NextInt64(1, long.MaxValue);

    public static string ETag(long version) => version.ToString(CultureInfo.InvariantCulture);

    public static bool TryParseETag(string? eTag, out long version) =>
        long.TryParse(eTag, NumberStyles.None, CultureInfo.InvariantCulture, out version);

    /// <summary>Reads columns grain_id, name, start_at (µs), period_ticks, etag.</summary>
    public static ReminderEntry Read(DbDataReader reader) => new()
    {
        GrainId = GrainId.Parse(reader.GetString(0)),
        ReminderName = reader.GetString(1),
        StartAt = StorageTime.FromUnixMicroseconds(reader.GetInt64(2)).UtcDateTime,
        Period = TimeSpan.FromTicks(reader.GetInt64(3)),
        ETag = ETag(reader.GetInt64(4)),
    };
}
