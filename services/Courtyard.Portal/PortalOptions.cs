using Microsoft.Extensions.Configuration;

namespace Courtyard.Portal;

/// <summary>The portal's own settings, section <c>Courtyard:Portal</c>.</summary>
public sealed class PortalOptions
{
    public const string Section = "Courtyard:Portal";

    /// <summary>
    /// StackExchange.Redis configuration (e.g. <c>127.0.0.1:6379</c>). When set, the data-protection keys that encrypt the
    /// sign-in cookie and the antiforgery tokens are kept in Redis under <see cref="DataProtectionRedisKey"/>, so every
    /// replica reads the cookies of the others; otherwise in <c>&lt;DataDir&gt;/portal-keys</c>.
    /// </summary>
    public string? DataProtectionRedis { get; set; }

    /// <summary>The Redis key (a list) holding the key ring.</summary>
    public const string DataProtectionRedisKey = "courtyard:portal:data-protection-keys";

    /// <summary>How long a page waits for a service's answer before it says the outcome is unknown.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The courtyard whose notice board the home page shows to visitors who are not signed in (optional).</summary>
    public string? NoticeBoardCourtyardId { get; set; }

    public static PortalOptions From(IConfiguration configuration)
    {
        var options = new PortalOptions();
        configuration.GetSection(Section).Bind(options);
        return options;
    }
}
