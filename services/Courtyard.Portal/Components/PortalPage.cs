using Courtyard.Portal.Account;
using Courtyard.Portal.Grpc;
using Courtyard.Portal.Preferences;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Components;

namespace Courtyard.Portal.Components;

/// <summary>
/// What every portal page shares: the request (static server rendering), the signed-in person, the two languages, and
/// one way to call a service so that a refusal or a lost connection becomes a message on the page — never an error page.
/// </summary>
public abstract class PortalPage : ComponentBase
{
    [CascadingParameter] public HttpContext HttpContext { get; set; } = default!;

    [Inject] protected NavigationManager Navigation { get; set; } = default!;

    protected PortalUser Me => new(HttpContext.User);

    /// <summary>The last call's failure as the page shows it (<see cref="UI.ServiceMessageBox"/>), or null.</summary>
    protected ServiceMessage? Failure { get; set; }

    protected static string T(string chinese, string english) => PortalText.T(chinese, english);

    protected static string Time(Google.Protobuf.WellKnownTypes.Timestamp? at) => PortalText.Time(at);

    /// <summary>Runs a service call; on failure keeps its message in <see cref="Failure"/> and returns default.</summary>
    protected async Task<TResult?> CallAsync<TResult>(Func<CancellationToken, Task<TResult>> call)
    {
        try
        {
            Failure = null;
            return await call(HttpContext.RequestAborted);
        }
        catch (RpcException e)
        {
            Failure = ServiceMessage.From(e);
            if (Failure.NeedsSignIn && Me.IsSignedIn)
            {
                // The session ended (signed out elsewhere, or the account changed): sign in again and come back.
                if (!HttpContext.Response.HasStarted)
                {
                    await HttpContext.SignOutAsync(PortalAuthentication.Scheme);
                }
                Navigation.NavigateTo($"{PortalAuthentication.SignInPath}?returnUrl={Uri.EscapeDataString(Here)}", forceLoad: true);
            }
            return default;
        }
    }

    /// <summary>This page's local address (path and query), for "come back here" links.</summary>
    protected string Here => "/" + Navigation.ToBaseRelativePath(Navigation.Uri);

    /// <summary>A fresh request id for a form: sent back with the form, so a resubmission is recognised by the service.</summary>
    protected static string NewRequestId() => Guid.NewGuid().ToString("N");
}
