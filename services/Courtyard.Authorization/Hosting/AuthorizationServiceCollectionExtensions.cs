using Courtyard.Authorization.Access;
using Courtyard.Authorization.Claims;
using Courtyard.Authorization.Enforcement;
using Courtyard.Authorization.Tokens;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.Tokens;

namespace Courtyard.Authorization;

public static class AuthorizationServiceCollectionExtensions
{
    /// <summary>
    /// JWT bearer authentication for Courtyard access tokens, ASP.NET Core authorization with the RPC access rules, and
    /// the interceptor that enforces them on every gRPC method of the process. Safe to call from each service's
    /// <c>Add&lt;Service&gt;</c> (the embedded host calls it once per service). Signing keys: Directory's key ring when it
    /// runs in this process (<see cref="ISigningKeySource"/>), else the key set Directory publishes at
    /// <c>Courtyard:Authentication:DirectoryAddress</c>.
    /// </summary>
    public static IHostApplicationBuilder AddCourtyardAuthorization(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(RpcAccessRegistry)))
        {
            return builder;
        }
        services.TryAddSingleton(sp => TokenOptions.From(sp.GetRequiredService<IConfiguration>()));
        services.AddSingleton<RpcAccessRegistry>();
        services.AddSingleton<IAuthorizationHandler, RpcAccessHandler>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, GrpcAuthorizationResults>();

        // No default scheme: the portal in the same host keeps its cookie default; the gRPC policy names Bearer itself.
        services.AddAuthentication().AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IServiceProvider>(ConfigureBearer);
        services.AddAuthorizationBuilder()
            .AddPolicy(RpcAccessEndpointConventions.SignedInPolicy, policy => policy
                .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .RequireClaim(CourtyardClaimTypes.Subject));

        services.AddGrpc(grpc => grpc.Interceptors.Add<RpcAccessInterceptor>());
        services.AddHostedService<AuthorizationStartupCheck>();
        return builder;
    }

    /// <summary>Declares who may call the RPCs of one gRPC service (its table covers every RPC).</summary>
    public static IServiceCollection AddRpcAccess(this IServiceCollection services, RpcAccessTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        services.AddSingleton(table);
        return services;
    }

    private static void ConfigureBearer(JwtBearerOptions bearer, IServiceProvider services)
    {
        var options = services.GetRequiredService<TokenOptions>();
        bearer.MapInboundClaims = false;
        bearer.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = options.Issuer,
            ValidAudience = options.Audience,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ClockSkew = options.ClockSkew,
            NameClaimType = CourtyardClaimTypes.Name,
        };
        if (services.GetService<ISigningKeySource>() is { } keys)
        {
            // Directory is in this process: its key ring, as it rotates.
            bearer.TokenValidationParameters.IssuerSigningKeyResolver = (_, _, kid, _) =>
                keys.ValidationKeys.Where(k => kid is null || k.KeyId == kid);
        }
        else if (options.DirectoryAddress is { } directory)
        {
            // JwtBearer fetches and caches the key set, and fetches it again when a token names a key id it has not seen.
            bearer.MetadataAddress = directory + "/.well-known/openid-configuration";
            bearer.RequireHttpsMetadata = directory.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            // No keys: no token validates. A host that maps a signed-in RPC does not start like this (CheckTokenKeys).
            bearer.TokenValidationParameters.IssuerSigningKeyResolver = (_, _, _, _) => [];
        }
    }

    /// <summary>Whether this process can check access tokens: Directory's key ring is in it, or Directory's address is configured.</summary>
    public static bool CanValidateTokens(IServiceProvider services) =>
        services.GetService<ISigningKeySource>() is not null || services.GetRequiredService<TokenOptions>().DirectoryAddress is not null;

    /// <summary>Why a host that serves signed-in RPCs cannot start without token keys, Chinese first.</summary>
    public const string MissingTokenKeysMessage =
        "配置有误：请设置 Courtyard:Authentication:DirectoryAddress（目录服务的 HTTP 地址），以便校验访问令牌。\n" +
        "Configuration error: set Courtyard:Authentication:DirectoryAddress (environment Courtyard__Authentication__DirectoryAddress) " +
        "to Directory's HTTP address, where it publishes the keys that sign access tokens.";
}

/// <summary>
/// Fails the start, saying what is missing, rather than the first scoped call: a host whose tables scope any RPC to a
/// territory must know where each courtyard sits.
/// </summary>
internal sealed class AuthorizationStartupCheck(IServiceProvider services, RpcAccessRegistry registry) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        bool scopedToTerritory = registry.Rules.Any(r => r.Kind == RpcAccessKind.Scoped && r.Resolver != ScopeResolvers.NoTerritory);
        if (scopedToTerritory && services.GetService<Courtyard.Authorization.Territory.ITerritoryPlacements>() is null)
        {
            throw new InvalidOperationException(
                "缺少 ITerritoryPlacements：服务需要知道每个院落所属的社区和街道才能判断权限。\n" +
                "No ITerritoryPlacements is registered: authorization must know each courtyard's community and street. " +
                "Register the service's copy kept from Directory's TerritoryNodeCreated events (services/Courtyard.Authorization/README.md).");
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
