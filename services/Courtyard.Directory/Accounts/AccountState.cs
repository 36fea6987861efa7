using Courtyard.Directory.Audit;
using Courtyard.Storage;

namespace Courtyard.Directory.Accounts;

/// <summary>One sign-in session: a refresh token's hash. Refreshing replaces it with a new one of the same family.</summary>
[GenerateSerializer]
public sealed class RefreshSession
{
    [Id(0)] public string Id { get; set; } = "";
    [Id(1)] public string FamilyId { get; set; } = "";
    [Id(2)] public byte[] SecretHash { get; set; } = [];
    [Id(3)] public DateTimeOffset ExpiresAt { get; set; }
    /// <summary>Set once refreshed: presenting it again means it was stolen, and the whole family is revoked.</summary>
    [Id(4)] public DateTimeOffset? ReplacedAt { get; set; }
    [Id(5)] public DateTimeOffset? RevokedAt { get; set; }
}

[GenerateSerializer]
public sealed class AccountState : IHasPendingEffects
{
    [Id(0)] public string Login { get; set; } = "";
    [Id(1)] public string DisplayName { get; set; } = "";
    [Id(2)] public string PasswordHash { get; set; } = "";
    [Id(3)] public DateTimeOffset CreatedAt { get; set; }
    /// <summary>The committee member or official who created it on the person's behalf; empty when they did it themself.</summary>
    [Id(4)] public string CreatedBy { get; set; } = "";
    [Id(5)] public string CreateRequestId { get; set; } = "";
    /// <summary>Residents (places on rolls) this person signs in as.</summary>
    [Id(6)] public List<string> ResidentIds { get; set; } = [];
    /// <summary>Scopes where this account may hold grants (a superset: noted before a grant is written).</summary>
    [Id(7)] public List<string> GrantScopes { get; set; } = [];
    /// <summary>The audit chain that records this account's sign-ins.</summary>
    [Id(8)] public string AuditChain { get; set; } = DirectoryIds.PlatformChain;
    [Id(9)] public int ConsecutiveFailures { get; set; }
    [Id(10)] public DateTimeOffset? LockedUntil { get; set; }
    [Id(11)] public List<RefreshSession> Sessions { get; set; } = [];
    /// <summary>So a retried password change (its answer lost) succeeds again instead of failing on the old password.</summary>
    [Id(12)] public string LastPasswordChangeRequestId { get; set; } = "";

    public bool Exists => Login.Length > 0;

    /// <summary>The audit entries of a sign-in or a creation, committed with the write that records it.</summary>
    [field: NonSerialized]
    public PendingEffects Effects { get; } = new();
}

/// <summary>What a token is built from.</summary>
[GenerateSerializer, Immutable]
public sealed record AccountProfile(
    [property: Id(0)] string AccountId,
    [property: Id(1)] string Login,
    [property: Id(2)] string DisplayName,
    [property: Id(3)] IReadOnlyList<string> ResidentIds,
    [property: Id(4)] IReadOnlyList<string> GrantScopes);

/// <summary>A refresh token as handed to the client once: <c>&lt;account&gt;.&lt;session&gt;.&lt;secret&gt;</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record IssuedRefreshToken([property: Id(0)] string Value, [property: Id(1)] DateTimeOffset ExpiresAt);

[GenerateSerializer, Immutable]
public sealed record SignedIn([property: Id(0)] AccountProfile Profile, [property: Id(1)] IssuedRefreshToken RefreshToken);

[GenerateSerializer, Immutable]
public sealed record CreateAccountCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string Login,
    [property: Id(2)] string DisplayName,
    [property: Id(3)] string PasswordHash,
    [property: Id(4)] string CreatedBy,
    [property: Id(5)] string AuditChain,
    [property: Id(6)] AuditFact? Recorded = null);
