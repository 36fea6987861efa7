using System.Text.RegularExpressions;
using Courtyard.ServiceDefaults;

namespace Courtyard.Directory.Accounts;

/// <summary>
/// What a person types to sign in: their mobile number (<c>138 0013 8000</c>, <c>+86 13800138000</c> are the same
/// login), or a name the committee or an official chose (<c>u12345678</c>, <c>wang.li</c>; case does not matter).
/// </summary>
public static partial class Logins
{
    [GeneratedRegex(@"^1[3-9][0-9]{9}$")]
    private static partial Regex MobilePattern();

    [GeneratedRegex(@"^[a-z][a-z0-9._-]{2,39}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"[\s\-()]")]
    private static partial Regex PhoneSeparators();

    /// <summary>The one spelling a login is stored under; null when it is neither a mobile number nor a valid name.</summary>
    public static string? Normalize(string? login)
    {
        string value = (login ?? "").Trim();
        if (value.Length == 0)
        {
            return null;
        }
        string digits = PhoneSeparators().Replace(value, "");
        if (digits.StartsWith("+86", StringComparison.Ordinal))
        {
            digits = digits[3..];
        }
        else if (digits.Length == 13 && digits.StartsWith("86", StringComparison.Ordinal))
        {
            digits = digits[2..];
        }
        if (MobilePattern().IsMatch(digits))
        {
            return digits;
        }
        string name = value.ToLowerInvariant();
        return NamePattern().IsMatch(name) && !name.All(char.IsAsciiDigit) ? name : null;
    }

    public static string Require(string? login) => Normalize(login) ?? throw RequestRefusedException.InvalidArgument(
        "登录名应为 11 位手机号，或以字母开头的 3–40 位字母、数字。",
        "The login must be an 11-digit mainland mobile number, or 3–40 letters and digits starting with a letter.");

    /// <summary>A mobile number for a roll: null when empty; refused when it is not one.</summary>
    public static string? NormalizePhone(string? phone)
    {
        string digits = PhoneSeparators().Replace((phone ?? "").Trim(), "");
        if (digits.Length == 0)
        {
            return null;
        }
        if (digits.StartsWith("+86", StringComparison.Ordinal))
        {
            digits = digits[3..];
        }
        return MobilePattern().IsMatch(digits) ? digits : null;
    }

    /// <summary>"138****5678": what everyone but the courtyard's committee and the person themself sees.</summary>
    public static string MaskPhone(string phone) =>
        phone.Length >= 7 ? phone[..3] + new string('*', phone.Length - 7) + phone[^4..]
        : phone.Length == 0 ? "" : new string('*', phone.Length);

    /// <summary>For audit entries about an attempt: enough to recognise, not enough to reuse.</summary>
    public static string MaskLogin(string login) =>
        login.Length <= 4 ? new string('*', login.Length) : login[..2] + new string('*', login.Length - 4) + login[^2..];
}
