using System.Collections.Concurrent;
using System.Globalization;
using Courtyard.Directory.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using DirectoryClient = Courtyard.Directory.V1.Directory.DirectoryClient;

namespace Courtyard.Portal.Account;

/// <summary>
/// Keeps a signed-in person's access token fresh: when the cookie is read less than <see cref="Margin"/> before the
/// token expires, the refresh token is exchanged (Directory's RefreshToken) and the cookie re-issued with the new pair
/// and up-to-date claims (a revoked role disappears). A refresh token works once, so requests of one person arriving
/// together (a page and its live tally) share one exchange instead of spending the token twice.
/// </summary>
public sealed partial class TokenRefresher(ILogger<TokenRefresher> logger, TimeProvider time)
{
    public static readonly TimeSpan Margin = TimeSpan.FromMinutes(1);

    // Keyed by the refresh token being spent; entries live for a minute so late arrivals still find the outcome.
    private readonly ConcurrentDictionary<string, (Lazy<Task<TokenResponse>> Exchange, DateTimeOffset At)> exchanges = new(StringComparer.Ordinal);

    public async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var properties = context.Properties;
        string? refreshToken = properties.GetTokenValue(PortalAuthentication.RefreshTokenName);
        if (!DateTimeOffset.TryParse(properties.GetTokenValue(PortalAuthentication.AccessTokenExpiresName), CultureInfo.InvariantCulture,
                DateTimeStyles.RoundtripKind, out var expiresAt) || string.IsNullOrEmpty(refreshToken))
        {
            await RejectAsync(context);
            return;
        }
        if (expiresAt - time.GetUtcNow() > Margin)
        {
            return;
        }
        var directory = context.HttpContext.RequestServices.GetRequiredService<DirectoryClient>();
        try
        {
            var tokens = await ExchangeAsync(directory, refreshToken, context.HttpContext.RequestAborted);
            var principal = await PortalAuthentication.PrincipalAsync(directory, tokens.AccessToken, context.HttpContext.RequestAborted);
            PortalAuthentication.StoreTokens(properties, tokens);
            context.ReplacePrincipal(principal);
            context.ShouldRenew = true;
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unauthenticated or StatusCode.NotFound or StatusCode.PermissionDenied
                                         or StatusCode.InvalidArgument or StatusCode.FailedPrecondition)
        {
            // Signed out elsewhere, expired or revoked: the person signs in again.
            LogRefreshRefused(logger, e.StatusCode);
            await RejectAsync(context);
        }
        catch (RpcException e)
        {
            // Directory unreachable for now: keep the cookie; calls made with the old token answer UNAUTHENTICATED once it
            // expires, and the page then asks the person to sign in.
            LogRefreshFailed(logger, e.StatusCode);
        }
    }

    private Task<TokenResponse> ExchangeAsync(DirectoryClient directory, string refreshToken, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var (key, existing) in exchanges)
        {
            if (now - existing.At > TimeSpan.FromMinutes(1))
            {
                exchanges.TryRemove(key, out _);
            }
        }
        var entry = exchanges.GetOrAdd(refreshToken, token => (new Lazy<Task<TokenResponse>>(() =>
            directory.RefreshTokenAsync(new RefreshTokenRequest { RefreshToken = token }, cancellationToken: CancellationToken.None).ResponseAsync), now));
        return entry.Exchange.Value.WaitAsync(cancellationToken);
    }

    private static async Task RejectAsync(CookieValidatePrincipalContext context)
    {
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(PortalAuthentication.Scheme);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Token refresh refused ({Status}): the person signs in again")]
    private static partial void LogRefreshRefused(ILogger logger, StatusCode status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Token refresh failed ({Status}): keeping the session for now")]
    private static partial void LogRefreshFailed(ILogger logger, StatusCode status);
}
