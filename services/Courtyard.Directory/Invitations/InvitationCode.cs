using System.Security.Cryptography;
using System.Text;

namespace Courtyard.Directory.Invitations;

/// <summary>
/// An invitation code: 16 symbols from 32 that cannot be mistaken for each other (no 0/O, 1/I), printed in four groups
/// (<c>K7Q4-MXPR-3HTW-D9AB</c>): 80 random bits. The first 6 symbols find the invitation (its grain key); the other 10
/// (50 bits) are the secret, stored only as a SHA-256 hash and compared in constant time. With failed attempts
/// throttled per client address, guessing one is hopeless.
/// </summary>
public sealed record InvitationCode(string LookupId, string Secret)
{
    public const int Length = 16;
    private const int LookupLength = 6;
    private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    public static InvitationCode New()
    {
        Span<char> symbols = stackalloc char[Length];
        for (int i = 0; i < Length; i++)
        {
            symbols[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }
        string code = new(symbols);
        return new InvitationCode(code[..LookupLength], code[LookupLength..]);
    }

    /// <summary>As typed from a slip: any case, with or without dashes and spaces; null when it cannot be a code.</summary>
    public static InvitationCode? Parse(string? typed)
    {
        var symbols = new StringBuilder(Length);
        foreach (char c in (typed ?? "").ToUpperInvariant())
        {
            if (c is '-' or ' ')
            {
                continue;
            }
            if (Alphabet.IndexOf(c) < 0)
            {
                return null;
            }
            symbols.Append(c);
        }
        return symbols.Length == Length ? new InvitationCode(symbols.ToString(0, LookupLength), symbols.ToString(LookupLength, Length - LookupLength)) : null;
    }

    public static byte[] HashSecret(string secret) => SHA256.HashData(Encoding.ASCII.GetBytes(secret));

    /// <summary>"K7Q4-MXPR-3HTW-D9AB".</summary>
    public override string ToString()
    {
        string code = LookupId + Secret;
        return $"{code[..4]}-{code[4..8]}-{code[8..12]}-{code[12..]}";
    }
}
