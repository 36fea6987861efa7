using System.Security.Cryptography;
using Courtyard.Authorization.Claims;
using Courtyard.Authorization.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace Courtyard.Testing.Authorization;

/// <summary>
/// An ES256 key a test service trusts, and access tokens signed with it, so a test can call as any role without a
/// running Directory. Give the service the key: Directory reads <see cref="PrivateKeyPem"/> from
/// <c>Directory:Signing:Keys:0:PrivateKeyPem</c>; another service registers <see cref="KeySource"/> as its
/// <see cref="ISigningKeySource"/>.
/// </summary>
public sealed class TestTokens
{
    private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestTokens(string keyId = "test-key", TokenOptions? options = null)
    {
        KeyId = keyId;
        Options = options ?? new TokenOptions();
        SigningKey = new ECDsaSecurityKey(key) { KeyId = keyId };
    }

    public string KeyId { get; }
    public TokenOptions Options { get; }
    public ECDsaSecurityKey SigningKey { get; }
    public string PrivateKeyPem => key.ExportPkcs8PrivateKeyPem();
    public ISigningKeySource KeySource => new StaticKeys([SigningKey]);

    public string Mint(string accountId, IEnumerable<GrantClaim> grants, IEnumerable<string>? residentIds = null,
        TimeSpan? lifetime = null, DateTimeOffset? now = null, string? audience = null, string? issuer = null) =>
        new AccessTokenContent { AccountId = accountId, Name = accountId, Grants = grants.ToArray(), ResidentIds = (residentIds ?? []).ToArray() }
            .Write(Options with { Audience = audience ?? Options.Audience, Issuer = issuer ?? Options.Issuer },
                new SigningCredentials(SigningKey, SecurityAlgorithms.EcdsaSha256), now ?? DateTimeOffset.UtcNow, lifetime ?? TimeSpan.FromMinutes(10));

    private sealed class StaticKeys(IReadOnlyList<SecurityKey> keys) : ISigningKeySource
    {
        public IReadOnlyList<SecurityKey> ValidationKeys => keys;
    }
}
