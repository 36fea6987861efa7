using System.Security.Cryptography;
using Courtyard.ServiceDefaults;
using Microsoft.AspNetCore.Identity;

namespace Courtyard.Directory.Accounts;

/// <summary>Password rules and hashing with ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/> (PBKDF2, salted, versioned format).</summary>
public static class Passwords
{
    public const int MinLength = 8;
    public const int MaxLength = 128;

    private static readonly PasswordHasher<Account> Hasher = new();

    /// <summary>A hash to verify against when the login is unknown, so an unknown login costs as long as a known one.</summary>
    private static readonly string DecoyHash = Hasher.HashPassword(Account.Instance, Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));

    /// <summary>Passwords people pick first; refused whatever their length.</summary>
    private static readonly HashSet<string> Common = new(StringComparer.OrdinalIgnoreCase)
    {
        "12345678", "123456789", "1234567890", "87654321", "88888888", "66666666", "11111111", "00000000",
        "password", "password1", "qwertyui", "abcd1234", "a1234567", "1qaz2wsx", "iloveyou", "woaini1314", "11223344",
    };

    public static string Hash(string password) => Hasher.HashPassword(Account.Instance, password);

    public static bool Verify(string hash, string password) =>
        Hasher.VerifyHashedPassword(Account.Instance, hash, password) != PasswordVerificationResult.Failed;

    public static void VerifyDecoy(string password) => Hasher.VerifyHashedPassword(Account.Instance, DecoyHash, password);

    public static void RequireAcceptable(string? password)
    {
        if (password is null || password.Length < MinLength)
        {
            throw RequestRefusedException.InvalidArgument($"密码至少 {MinLength} 位。", $"The password needs at least {MinLength} characters.");
        }
        if (password.Length > MaxLength)
        {
            throw RequestRefusedException.InvalidArgument($"密码不能超过 {MaxLength} 位。", $"The password may have at most {MaxLength} characters.");
        }
        if (Common.Contains(password) || password.Distinct().Count() == 1)
        {
            throw RequestRefusedException.InvalidArgument("这个密码太常见，容易被猜到，请换一个。", "This password is too common and easy to guess; choose another.");
        }
    }

    /// <summary>An initial password for a printed slip: ten characters without look-alikes (no 0/O, 1/l/I).</summary>
    public static string Generate()
    {
        const string alphabet = "23456789abcdefghjkmnpqrstuvwxyz";
        return string.Create(10, 0, (span, _) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
            }
        });
    }

    /// <summary>PasswordHasher needs a user type; the hash does not depend on it.</summary>
    public sealed class Account
    {
        public static readonly Account Instance = new();
    }
}
