using System.Security.Cryptography;
using Courtyard.Directory.V1;
using Courtyard.ServiceDefaults;

namespace Courtyard.Directory.Invitations;

[GenerateSerializer, Immutable]
public sealed record InvitationTarget(
    [property: Id(0)] string CourtyardId,
    [property: Id(1)] string HouseholdId,
    [property: Id(2)] DateTimeOffset ExpiresAt,
    [property: Id(3)] string IssuedBy);

[GenerateSerializer]
public sealed class InvitationState
{
    [Id(0)] public InvitationTarget? Target { get; set; }
    [Id(1)] public byte[] SecretHash { get; set; } = [];
    /// <summary>The redeeming request that holds the code while it creates the account (a retry of it may continue).</summary>
    [Id(2)] public string ClaimedBy { get; set; } = "";
    [Id(3)] public DateTimeOffset ClaimedAt { get; set; }
    [Id(4)] public DateTimeOffset? RedeemedAt { get; set; }
    [Id(5)] public string RedeemedByAccount { get; set; } = "";
}

/// <summary>One invitation, keyed by its code's lookup part; works once, until it expires.</summary>
public interface IInvitationGrain : IGrainWithStringKey
{
    /// <summary>Stores a new invitation under this lookup id; false when a live one already uses it (draw another code).</summary>
    Task<bool> IssueAsync(InvitationTarget target, byte[] secretHash);

    /// <summary>
    /// Holds the invitation for one redeeming request (a retry of that request gets it again) and says where it leads.
    /// A wrong secret, an expired, used or unknown code all get the same answer.
    /// </summary>
    Task<InvitationTarget> ClaimAsync(string secret, string requestId);

    /// <summary>Marks the code used by the account the claiming request created.</summary>
    Task CompleteAsync(string requestId, string accountId);

    /// <summary>Frees the code again after the claiming request was refused (a wrong relation, a taken login): it may try again.</summary>
    Task ReleaseAsync(string requestId);
}

[GrainType("directory.invitation")]
internal sealed class InvitationGrain(
    [PersistentState("invitation", DirectoryOptions.ServiceName)] IPersistentState<InvitationState> state,
    [FromKeyedServices(DirectoryOptions.ServiceName)] TimeProvider time) : Grain, IInvitationGrain
{
    /// <summary>A claim not completed by then (the redeeming request gave up) frees the code again.</summary>
    private static readonly TimeSpan ClaimHold = TimeSpan.FromMinutes(10);

    private InvitationState State => state.State;

    public async Task<bool> IssueAsync(InvitationTarget target, byte[] secretHash)
    {
        var now = time.GetUtcNow();
        if (State.Target is { } live && live.ExpiresAt > now && State.RedeemedAt is null)
        {
            return false;
        }
        state.State = new InvitationState { Target = target, SecretHash = secretHash };
        await state.WriteStateAsync();
        return true;
    }

    public async Task<InvitationTarget> ClaimAsync(string secret, string requestId)
    {
        var now = time.GetUtcNow();
        byte[] presented = InvitationCode.HashSecret(secret);
        // Always compare, also for an empty invitation, so a missing code costs as long as a wrong secret.
        byte[] stored = State.SecretHash.Length == presented.Length ? State.SecretHash : new byte[presented.Length];
        bool secretMatches = CryptographicOperations.FixedTimeEquals(stored, presented) && State.SecretHash.Length > 0;
        if (!secretMatches || State.Target is not { } target || target.ExpiresAt <= now)
        {
            throw Invalid();
        }
        if (State.RedeemedAt is not null)
        {
            throw State.ClaimedBy == requestId ? AlreadyRedeemedByThisRequest() : Invalid();
        }
        if (State.ClaimedBy.Length > 0 && State.ClaimedBy != requestId && State.ClaimedAt + ClaimHold > now)
        {
            throw Invalid();
        }
        if (State.ClaimedBy != requestId)
        {
            State.ClaimedBy = requestId;
            State.ClaimedAt = now;
            await state.WriteStateAsync();
        }
        return target;
    }

    public async Task CompleteAsync(string requestId, string accountId)
    {
        if (State.ClaimedBy != requestId || State.RedeemedAt is not null)
        {
            return;
        }
        State.RedeemedAt = time.GetUtcNow();
        State.RedeemedByAccount = accountId;
        await state.WriteStateAsync();
    }

    public async Task ReleaseAsync(string requestId)
    {
        if (State.ClaimedBy != requestId || State.RedeemedAt is not null)
        {
            return;
        }
        State.ClaimedBy = "";
        await state.WriteStateAsync();
    }

    internal static RequestRefusedException Invalid() => RequestRefusedException.NotFound(
        "邀请码无效、已使用或已过期。请核对纸条上的邀请码，或请院委会重新打印。",
        "The invitation code is wrong, used or expired. Check the slip, or ask the committee for a new one.");

    private static RequestRefusedException AlreadyRedeemedByThisRequest() => RequestRefusedException.AlreadyExists(
        "这个邀请码已经用过了，请直接登录。", "This invitation was already redeemed by this request; sign in instead.");
}
