using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Courtyard.Directory.Audit;

/// <summary>
/// The canonical form of an audit entry and its hash. Canonical form: the ASCII tag <c>courtyard-audit-v1</c>, then
/// each field as a 4-byte big-endian length followed by its UTF-8 bytes, in this order: sequence (decimal), time (Unix
/// milliseconds, decimal), kind (the AuditKind number, decimal), actor id, subject id, the number of details (decimal),
/// each detail's key and value (keys sorted ordinally), previous hash (lower-case hex). Hash: lower-case hex SHA-256.
/// An auditor can recompute it from an export with any SHA-256 tool.
/// </summary>
public static class AuditHashing
{
    /// <summary>The previous hash of the first entry.</summary>
    public static readonly string Genesis = new('0', 64);

    private static readonly byte[] Tag = Encoding.ASCII.GetBytes("courtyard-audit-v1");

    public static string HashOf(AuditRecord record)
    {
        using var buffer = new MemoryStream();
        buffer.Write(Tag);
        Field(buffer, record.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field(buffer, record.AtUnixMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field(buffer, record.Kind.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field(buffer, record.ActorId);
        Field(buffer, record.SubjectId);
        var details = record.Details.OrderBy(d => d.Key, StringComparer.Ordinal).ToArray();
        Field(buffer, details.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (key, value) in details)
        {
            Field(buffer, key);
            Field(buffer, value);
        }
        Field(buffer, record.PreviousHash);
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    private static void Field(Stream buffer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        buffer.Write(length);
        buffer.Write(bytes);
    }
}
