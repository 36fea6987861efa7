using System.Security.Cryptography;
using System.Text;

namespace Courtyard.Councils;

/// <summary>
/// Ids of the things Councils creates. An id is derived from the courtyard and the creating request's request_id, so a
/// retried request addresses the very same grain, which answers with what the first attempt made (idempotency without a
/// table of handled requests). Grain keys are "&lt;courtyard id&gt;/&lt;id&gt;": a caller naming the wrong courtyard finds nothing.
/// </summary>
public static class Ids
{
    public static string Proposal(string courtyardId, string requestId) => Derive("pp", courtyardId, requestId);

    public static string Notice(string courtyardId, string requestId) => Derive("nt", courtyardId, requestId);

    /// <summary>A proposal has one vote; its id mirrors the proposal's.</summary>
    public static string VoteOf(string proposalId) => "vt_" + Suffix(proposalId);

    public static string ProposalOfVote(string voteId) => "pp_" + Suffix(voteId);

    /// <summary>The notice of a vote's result.</summary>
    public static string ResultNoticeOf(string voteId) => "nt_" + Suffix(voteId);

    public static string GrainKey(string courtyardId, string id) => $"{courtyardId}/{id}";

    public static (string CourtyardId, string Id) SplitGrainKey(string key)
    {
        var slash = key.IndexOf('/');
        return (key[..slash], key[(slash + 1)..]);
    }

    /// <summary>A receipt's ballot id: the vote, the voter's revision and a digest of the request.</summary>
    public static string Ballot(string voteId, string requestId) => Derive("bl", voteId, requestId);

    public static string Comment(string proposalId, string requestId) => Derive("pc", proposalId, requestId);

    public static string Objection(string noticeId, string requestId) => Derive("ob", noticeId, requestId);

    private static string Suffix(string id) => id[(id.IndexOf('_') + 1)..];

    private static string Derive(string prefix, string scope, string requestId)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{scope}\n{requestId}"), digest);
        return prefix + "_" + Convert.ToHexStringLower(digest[..10]);
    }
}
