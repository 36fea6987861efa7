using Microsoft.Extensions.Configuration;

namespace Courtyard.Authorization.Tokens;

/// <summary>
/// What every service checks in an access token besides its signature, read from "Courtyard:Authentication"
/// (environment <c>Courtyard__Authentication__Issuer</c>, …). Directory issues with the same values.
/// </summary>
public sealed record TokenOptions
{
    public const string Section = "Courtyard:Authentication";

    /// <summary>The <c>iss</c> claim: who issued the token.</summary>
    public string Issuer { get; init; } = "courtyard-directory";

    /// <summary>The <c>aud</c> claim: the platform's services.</summary>
    public string Audience { get; init; } = "courtyard";

    /// <summary>
    /// Directory's HTTP address (e.g. <c>http://directory:5180</c>), where it publishes its signing keys
    /// (<c>/.well-known/openid-configuration</c>, <c>/.well-known/jwks.json</c>). Not needed where Directory runs in
    /// the same process (the embedded host): its key ring is used directly.
    /// </summary>
    public string? DirectoryAddress { get; init; }

    /// <summary>Tolerated clock difference between Directory and this service.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    public static TokenOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var options = new TokenOptions();
        return options with
        {
            Issuer = section["Issuer"] is { Length: > 0 } issuer ? issuer : options.Issuer,
            Audience = section["Audience"] is { Length: > 0 } audience ? audience : options.Audience,
            DirectoryAddress = section["DirectoryAddress"] is { Length: > 0 } address ? address.TrimEnd('/') : null,
            ClockSkew = section.GetValue("ClockSkew", options.ClockSkew),
        };
    }
}
