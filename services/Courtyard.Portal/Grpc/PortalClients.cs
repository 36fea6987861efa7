using Courtyard.Councils.V1;
using Courtyard.Portal.Account;
using Courtyard.ServiceDefaults;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using DirectoryClient = Courtyard.Directory.V1.Directory.DirectoryClient;

namespace Courtyard.Portal.Grpc;

/// <summary>
/// The gRPC services the portal calls, as typed clients from ServiceDefaults (<c>Courtyard:Services:directory</c> and
/// <c>:councils</c>, else this process). A signed-in person's access token, kept in the portal's encrypted cookie, goes
/// with every call, so each service authorizes the person, never the portal.
/// </summary>
public static class PortalClients
{
    public static void AddPortalClients(this WebApplicationBuilder builder)
    {
        var deadline = new CallDeadline(PortalOptions.From(builder.Configuration).CallTimeout);
        builder.AddServiceClient<DirectoryClient>("directory").AddCallCredentials(AddSignedInToken).AddInterceptor(() => deadline);
        builder.AddServiceClient<Councils.V1.Councils.CouncilsClient>("councils").AddCallCredentials(AddSignedInToken).AddInterceptor(() => deadline);
    }

    private static async Task AddSignedInToken(AuthInterceptorContext context, Metadata metadata, IServiceProvider services)
    {
        var http = services.GetRequiredService<IHttpContextAccessor>().HttpContext;
        if (http?.User.Identity?.IsAuthenticated != true)
        {
            return;
        }
        // The cookie handler has already read (and, when due, refreshed) the ticket for this request: this is cached.
        if (await http.GetTokenAsync(PortalAuthentication.Scheme, PortalAuthentication.AccessTokenName) is { Length: > 0 } token)
        {
            metadata.Add("authorization", $"Bearer {token}");
        }
    }
}
