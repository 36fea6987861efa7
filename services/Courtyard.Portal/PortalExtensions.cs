using Courtyard.Portal.Account;
using Courtyard.Portal.Components;
using Courtyard.Portal.Grpc;
using Courtyard.Portal.Live;
using Courtyard.Portal.Preferences;
using Courtyard.ServiceDefaults;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.WebEncoders;
using StackExchange.Redis;

namespace Courtyard.Portal;

/// <summary>
/// The portal as a part of any host: <c>builder.AddPortal()</c> and <c>app.MapPortal()</c>, alone (its Program.cs) or in
/// Platform.Host on the host's HTTP/1.1 port. Pages are Razor components rendered on the server (static rendering: every
/// page and form is plain HTML); blazor.web.js adds enhanced navigation, live.js the live tally.
/// </summary>
public static class PortalExtensions
{
    public static WebApplicationBuilder AddPortal(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // Static web assets (app.css, blazor.web.js) from the build output also outside Development and without publish.
        builder.WebHost.UseStaticWebAssets();
        var options = PortalOptions.From(builder.Configuration);
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));

        // One line per gRPC call at Information from the client factory: traces already show the calls.
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Services.AddRazorComponents();
        // Chinese text as it is, not as &#x...; entities: pages a third the size on an old phone's slow connection.
        builder.Services.Configure<WebEncoderOptions>(encoders => encoders.TextEncoderSettings = new TextEncoderSettings(UnicodeRanges.All));
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddScoped<BallotLookup>();
        builder.AddPortalClients();
        builder.AddPortalAuthentication();
        builder.AddPortalPreferences();
        AddDataProtection(builder, options);
        return builder;
    }

    public static WebApplication MapPortal(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The person's language for pages only: gRPC handlers in the same host keep the process's culture.
        app.UseWhen(http => http.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true,
            pages => pages.UseRequestLocalization());
        // A browser never gets a bare 400/404/500: the portal's own page says what to do. Only for pages (Accept: text/html),
        // so gRPC, health checks and Dapr callbacks in the same host keep their statuses as they are.
        app.UseStatusCodePagesWithReExecute("/problem/{0}", createScopeForStatusCodePages: true);
        app.Use((http, next) =>
        {
            if (!http.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.Ordinal)
                && http.Features.Get<IStatusCodePagesFeature>() is { } statusCodePages)
            {
                statusCodePages.Enabled = false;
            }
            return next(http);
        });
        // Explicit because the embedded host is built by CreateSlimBuilder, which does not add them by itself; antiforgery
        // must come after authentication and authorization.
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapPortalPreferences();
        app.MapAccountEndpoints();
        app.MapLiveTally();
        app.MapRazorComponents<App>();
        return app;
    }

    /// <summary>
    /// Keys that encrypt the sign-in cookie and antiforgery tokens. With several replicas they must share them: Redis
    /// (<c>Courtyard:Portal:DataProtectionRedis</c>, list key <see cref="PortalOptions.DataProtectionRedisKey"/>);
    /// otherwise a folder in the data directory, so a restart keeps people signed in.
    /// </summary>
    private static void AddDataProtection(WebApplicationBuilder builder, PortalOptions options)
    {
        var dataProtection = builder.Services.AddDataProtection().SetApplicationName("courtyard-portal");
        if (!string.IsNullOrWhiteSpace(options.DataProtectionRedis))
        {
            var redis = ConnectionMultiplexer.Connect(options.DataProtectionRedis);
            dataProtection.PersistKeysToStackExchangeRedis(redis, PortalOptions.DataProtectionRedisKey);
        }
        else
        {
            string dataDir = ServiceOptions.From(builder.Configuration, "portal").DataDir;
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataDir, "portal-keys")));
        }
    }
}
