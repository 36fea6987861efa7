using Courtyard.Directory.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using DirectoryClient = Courtyard.Directory.V1.Directory.DirectoryClient;

namespace Courtyard.Portal.Account;

/// <summary>Signs a person in (password or invitation code) and out: the Directory's tokens into the cookie, and back.</summary>
public sealed class PortalSignIn(DirectoryClient directory, IHttpContextAccessor accessor)
{
    private HttpContext Http => accessor.HttpContext ?? throw new InvalidOperationException("Sign-in needs an HTTP request.");

    public async Task SignInAsync(string login, string password)
    {
        var tokens = await directory.SignInAsync(new SignInRequest { Login = login.Trim(), Password = password },
            cancellationToken: Http.RequestAborted);
        await IssueCookieAsync(tokens);
    }

    public async Task RedeemAsync(RedeemInvitationRequest request)
    {
        var redeemed = await directory.RedeemInvitationAsync(request, cancellationToken: Http.RequestAborted);
        await IssueCookieAsync(redeemed.Tokens);
    }

    public async Task SignOutAsync()
    {
        if (await Http.GetTokenAsync(PortalAuthentication.Scheme, PortalAuthentication.RefreshTokenName) is { Length: > 0 } refreshToken)
        {
            try
            {
                await directory.SignOutAsync(new SignOutRequest { RefreshToken = refreshToken }, cancellationToken: Http.RequestAborted);
            }
            catch (RpcException)
            {
                // The cookie goes anyway; an unrevoked refresh token expires by itself.
            }
        }
        await Http.SignOutAsync(PortalAuthentication.Scheme);
    }

    private async Task IssueCookieAsync(TokenResponse tokens)
    {
        var principal = await PortalAuthentication.PrincipalAsync(directory, tokens.AccessToken, Http.RequestAborted);
        var properties = new AuthenticationProperties();
        PortalAuthentication.StoreTokens(properties, tokens);
        await Http.SignInAsync(PortalAuthentication.Scheme, principal, properties);
        Http.User = principal;
    }
}
