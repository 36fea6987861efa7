namespace Courtyard.Portal.Account;

/// <summary>Sign-out: a plain form post (its form binding makes ASP.NET Core check the antiforgery token), then home.</summary>
public static class AccountEndpoints
{
    public static void MapAccountEndpoints(this WebApplication app) =>
        app.MapPost("/account/sign-out", async (IFormCollection form, PortalSignIn signIn) =>
        {
            await signIn.SignOutAsync();
            return Results.LocalRedirect("/");
        });
}
