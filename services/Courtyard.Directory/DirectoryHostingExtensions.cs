using Courtyard.Authorization;
using Courtyard.Authorization.Enforcement;
using Courtyard.Authorization.Territory;
using Courtyard.Authorization.Tokens;
using Courtyard.Directory.Accounts;
using Courtyard.Directory.Audit;
using Courtyard.Directory.Grpc;
using Courtyard.Directory.Invitations;
using Courtyard.Directory.Territory;
using Courtyard.Directory.Tokens;
using Courtyard.Events.Hosting;
using Courtyard.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Courtyard.Directory;

public static class DirectoryHostingExtensions
{
    /// <summary>
    /// Directory's storage (its own database: grain state, the audit journal, reminders), its event bus (the outbox relay
    /// of its membership events), its grains, the signing key ring, and its access table. Its key ring and territory
    /// also serve every other service in the same process. The host adds ServiceDefaults first.
    /// </summary>
    public static WebApplicationBuilder AddDirectory(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddServiceStorage(DirectoryOptions.ServiceName);
        var services = builder.Services;
        // Directory's relay publishes its membership events; its one consumer appends the audit entries its grains raise.
        services.AddEventBus(DirectoryOptions.ServiceName, bus => bus.HandleAuditFacts());
        services.AddOptions<DirectoryOptions>().Bind(builder.Configuration.GetSection(DirectoryOptions.Section));
        services.TryAddKeyedSingleton(DirectoryOptions.ServiceName, TimeProvider.System);
        services.AddSingleton<SigningKeyRing>();
        services.AddSingleton<ISigningKeySource>(sp => sp.GetRequiredService<SigningKeyRing>());
        // Directory is the source of the territory: every service in this process reads it (not its own copy).
        services.AddSingleton<ITerritoryPlacements, DirectoryTerritoryPlacements>();
        services.AddSingleton<AccessTokenIssuer>();
        services.AddSingleton<ClientThrottle>();
        services.AddSingleton<InvitationSlips>();
        services.AddSingleton<AccountFlows>();
        services.AddHostedService<DirectoryBootstrap>();
        services.AddRpcAccess(DirectoryAccess.Table);
        return builder;
    }

    /// <summary>The gRPC service with its access rules, and the published signing keys on plain HTTP.</summary>
    public static WebApplication MapDirectory(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcService<DirectoryService>().RequireRpcAccess(DirectoryAccess.Table);
        app.MapGet("/.well-known/openid-configuration", (HttpContext http, TokenOptions tokens) => Results.Json(new
        {
            issuer = tokens.Issuer,
            jwks_uri = $"{http.Request.Scheme}://{http.Request.Host}/.well-known/jwks.json",
            id_token_signing_alg_values_supported = new[] { "ES256" },
        })).AllowAnonymous();
        app.MapGet("/.well-known/jwks.json", (SigningKeyRing keys) => Results.Json(keys.PublishedKeySet())).AllowAnonymous();
        return app;
    }
}
