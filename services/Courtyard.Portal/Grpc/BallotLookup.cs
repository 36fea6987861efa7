using Courtyard.Common.V1;
using Courtyard.Councils.V1;
using Grpc.Core;
using CouncilsClient = Courtyard.Councils.V1.Councils.CouncilsClient;

namespace Courtyard.Portal.Grpc;

/// <summary>
/// Finds recorded ballots through Councils' ListBallots (provenance only: no choice of a secret vote). Councils has no
/// filter by voter, so this pages through the vote's ballots: 500 a call, at most <see cref="MaxPages"/> calls.
/// </summary>
public sealed class BallotLookup(CouncilsClient councils)
{
    public const int MaxPages = 20;

    /// <summary>The voter's ballot that counts now, or null (also when the lookup fails: the page then says nothing).</summary>
    public async Task<Ballot?> LatestOfAsync(string courtyardId, string voteId, string voterId, CancellationToken cancellationToken) =>
        await FindAsync(courtyardId, voteId, ballot => ballot.VoterId == voterId && !ballot.Superseded, includeSuperseded: false, cancellationToken);

    /// <summary>A ballot by its receipt number, superseded or not.</summary>
    public Task<Ballot?> ByIdAsync(string courtyardId, string voteId, string ballotId, CancellationToken cancellationToken) =>
        FindAsync(courtyardId, voteId, ballot => ballot.Id == ballotId, includeSuperseded: true, cancellationToken);

    private async Task<Ballot?> FindAsync(string courtyardId, string voteId, Func<Ballot, bool> match, bool includeSuperseded, CancellationToken cancellationToken)
    {
        string token = "";
        for (int page = 0; page < MaxPages; page++)
        {
            ListBallotsResponse response;
            try
            {
                response = await councils.ListBallotsAsync(new ListBallotsRequest
                {
                    CourtyardId = courtyardId, VoteId = voteId, IncludeSuperseded = includeSuperseded,
                    Page = new PageRequest { PageSize = 500, PageToken = token },
                }, cancellationToken: cancellationToken);
            }
            catch (RpcException)
            {
                return null;
            }
            if (response.Ballots.FirstOrDefault(match) is { } found)
            {
                return found;
            }
            token = response.Page?.NextPageToken ?? "";
            if (token.Length == 0)
            {
                return null;
            }
        }
        return null;
    }
}
