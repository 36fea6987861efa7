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
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Courtyard.Directory;

public static class DirectoryHostingExtensions
{
    /// <summary>
    /// Directory's gRPC service, grains (found by Orleans in this assembly; state in the "directory" grain storage the
    /// host registers), the audit journal's log-consistency provider, the signing key ring, and Courtyard authorization
    /// with Directory's access table. Its key ring and territory also serve every other service in the same process.
    /// </summary>
    public static WebApplicationBuilder AddDirectory(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<DirectoryOptions>().Bind(builder.Configuration.GetSection(DirectoryOptions.Section));
        services.TryAddKeyedSingleton(DirectoryOptions.ServiceName, TimeProvider.System);
        services.AddSingleton<SigningKeyRing>();
        services.AddSingleton<ISigningKeySource>(sp => sp.GetRequiredService<SigningKeyRing>());
        services.AddSingleton<ITerritoryPlacements, DirectoryTerritoryPlacements>();
        services.AddSingleton<AccessTokenIssuer>();
        services.AddSingleton<ClientThrottle>();
        services.AddSingleton<InvitationSlips>();
        services.AddSingleton<AccountFlows>();
        services.AddHostedService<DirectoryBootstrap>();

        builder.UseOrleans(silo => silo.AddLogStorageBasedLogConsistencyProvider(AuditJournal.ProviderName));
        builder.AddCourtyardAuthorization();
        services.AddRpcAccess(DirectoryAccess.Table);
        services.AddGrpc();
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
