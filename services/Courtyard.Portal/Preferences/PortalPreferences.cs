using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Mvc;

namespace Courtyard.Portal.Preferences;

/// <summary>
/// The two choices a person makes once and keeps on this device, each one tap away on every page and remembered in a
/// cookie: the language (ASP.NET Core's request-localization cookie; Chinese unless English was chosen) and large text.
/// </summary>
public static class PortalPreferences
{
    public const string LargeTextCookie = "courtyard.large-text";

    public static void AddPortalPreferences(this WebApplicationBuilder builder) =>
        builder.Services.Configure<RequestLocalizationOptions>(options =>
        {
            options.DefaultRequestCulture = new RequestCulture(PortalText.Chinese);
            options.SupportedCultures = [PortalText.Chinese, PortalText.English];
            options.SupportedUICultures = [PortalText.Chinese, PortalText.English];
            // Only the person's own choice: Chinese first, whatever the browser's language list says.
            options.RequestCultureProviders = [new CookieRequestCultureProvider()];
        });

    public static bool LargeText(HttpContext http) => http.Request.Cookies[LargeTextCookie] == "1";

    public static void MapPortalPreferences(this WebApplication app)
    {
        var preferences = app.MapGroup("/preferences");
        // Plain form posts (with the antiforgery token every portal form carries), answered by a redirect back.
        preferences.MapPost("/language", ([FromForm] string language, [FromForm] string? returnUrl, HttpContext http) =>
        {
            var culture = language == "en" ? PortalText.English : PortalText.Chinese;
            http.Response.Cookies.Append(CookieRequestCultureProvider.DefaultCookieName,
                CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)), Remembered(http));
            return Back(returnUrl);
        });
        preferences.MapPost("/text-size", ([FromForm] string size, [FromForm] string? returnUrl, HttpContext http) =>
        {
            if (size == "large")
            {
                http.Response.Cookies.Append(LargeTextCookie, "1", Remembered(http));
            }
            else
            {
                http.Response.Cookies.Delete(LargeTextCookie);
            }
            return Back(returnUrl);
        });
    }

    private static CookieOptions Remembered(HttpContext http) => new()
    {
        Expires = DateTimeOffset.UtcNow.AddYears(1),
        HttpOnly = true,
        IsEssential = true,
        SameSite = SameSiteMode.Lax,
        Secure = http.Request.IsHttps,
    };

    /// <summary>Back to the page the person was on; only a local path, never another site.</summary>
    internal static IResult Back(string? returnUrl) =>
        Results.LocalRedirect(IsLocal(returnUrl) ? returnUrl! : "/");

    internal static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'));
}
