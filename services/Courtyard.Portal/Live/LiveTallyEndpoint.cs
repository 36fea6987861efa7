using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Courtyard.Councils.V1;
using Courtyard.Portal.Account;
using Courtyard.Portal.Components.UI;
using Courtyard.Portal.Grpc;
using Grpc.Core;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using CouncilsClient = Courtyard.Councils.V1.Councils.CouncilsClient;

namespace Courtyard.Portal.Live;

/// <summary>
/// <c>GET /live/tally/{courtyard}/{vote}</c>: Server-Sent Events relaying Councils' WatchTally to the browser. Each
/// event's data is <see cref="TallyView"/> rendered to HTML (event "tally"; "final" once the vote closed, after which
/// the stream ends; "refused" with the service's message if the watch is refused). The person's own token goes with the
/// WatchTally call, so they see only what they may see.
/// </summary>
public static class LiveTallyEndpoint
{
    public static void MapLiveTally(this WebApplication app) =>
        app.MapGet("/live/tally/{courtyardId}/{voteId}", (string courtyardId, string voteId, HttpContext http, CouncilsClient councils) =>
                TypedResults.ServerSentEvents(StreamAsync(http, councils, new WatchTallyRequest { CourtyardId = courtyardId, VoteId = voteId }, http.RequestAborted)))
            .RequireAuthorization(PortalAuthentication.SignedInPolicy);

    private static async IAsyncEnumerable<SseItem<string>> StreamAsync(HttpContext http, CouncilsClient councils, WatchTallyRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var renderer = new HtmlRenderer(http.RequestServices, http.RequestServices.GetRequiredService<ILoggerFactory>());
        using var call = councils.WatchTally(request, cancellationToken: cancellationToken);
        var tallies = call.ResponseStream.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            Tally tally;
            ServiceMessage? refused = null;
            try
            {
                if (!await tallies.MoveNextAsync())
                {
                    yield break;
                }
                tally = tallies.Current;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled || cancellationToken.IsCancellationRequested)
            {
                // The browser went away (page closed, navigated on): nothing to tell anyone.
                yield break;
            }
            catch (RpcException e)
            {
                refused = ServiceMessage.From(e);
                tally = null!;
            }
            if (refused is not null)
            {
                yield return new SseItem<string>(refused.Text, "refused");
                yield break;
            }
            string html = await renderer.Dispatcher.InvokeAsync(async () =>
                (await renderer.RenderComponentAsync<TallyView>(ParameterView.FromDictionary(new Dictionary<string, object?> { [nameof(TallyView.Tally)] = tally })))
                .ToHtmlString());
            yield return new SseItem<string>(html, tally.Final ? "final" : "tally");
            if (tally.Final)
            {
                yield break;
            }
        }
    }
}
