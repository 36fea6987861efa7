using Courtyard.Portal.Preferences;
using Google.Protobuf.WellKnownTypes;

namespace Courtyard.Portal.Components.UI;

/// <summary>Dates and times people type (China time) as the services' timestamps.</summary>
public static class Dates
{
    /// <summary>23:59:59 China time on that day.</summary>
    public static Timestamp EndOfDay(DateOnly day) => Local(day.ToDateTime(new TimeOnly(23, 59, 59)));

    /// <summary>A date and time from an &lt;input type="datetime-local"&gt;, read as China time.</summary>
    public static Timestamp? FromLocalInput(string? value) =>
        DateTime.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var local)
            ? Local(local) : null;

    public static string ToLocalInput(DateTimeOffset at) =>
        TimeZoneInfo.ConvertTime(at, PortalText.ChinaTime).ToString("yyyy-MM-ddTHH:mm", System.Globalization.CultureInfo.InvariantCulture);

    private static Timestamp Local(DateTime local) =>
        Timestamp.FromDateTimeOffset(new DateTimeOffset(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), PortalText.ChinaTime.GetUtcOffset(local)));
}
