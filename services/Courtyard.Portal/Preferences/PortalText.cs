using System.Globalization;

namespace Courtyard.Portal.Preferences;

/// <summary>
/// The portal's two languages. Chinese is the source text and the default; English is written next to it in the
/// markup (<c>@T("投票", "Vote")</c>), so a sentence and its translation are read and changed together. The culture of
/// the request decides which is shown (ASP.NET Core request localization, remembered in a cookie: <see cref="PortalPreferences"/>).
/// </summary>
public static class PortalText
{
    public static readonly CultureInfo Chinese = CultureInfo.GetCultureInfo("zh-CN");
    public static readonly CultureInfo English = CultureInfo.GetCultureInfo("en");

    public static bool IsEnglish => CultureInfo.CurrentUICulture.TwoLetterISOLanguageName == "en";

    public static string T(string chinese, string english) => IsEnglish ? english : chinese;

    /// <summary>The lang attribute of the page.</summary>
    public static string Lang => IsEnglish ? "en" : "zh-CN";

    /// <summary>A time as a resident reads it, in China's time zone.</summary>
    public static string Time(DateTimeOffset at) =>
        TimeZoneInfo.ConvertTime(at, ChinaTime).ToString(IsEnglish ? "yyyy-MM-dd HH:mm" : "yyyy年M月d日 HH:mm", CultureInfo.InvariantCulture);

    public static string Time(Google.Protobuf.WellKnownTypes.Timestamp? at) => at is null ? "" : Time(at.ToDateTimeOffset());

    public static readonly TimeZoneInfo ChinaTime = FindChinaTime();

    private static TimeZoneInfo FindChinaTime()
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");
        }
        catch (TimeZoneNotFoundException)
        {
            return TimeZoneInfo.CreateCustomTimeZone("China", TimeSpan.FromHours(8), "China", "China");
        }
    }
}
