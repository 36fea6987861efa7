using System.Security.Cryptography;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Courtyard.Councils.Tests;

/// <summary>
/// Signs tokens as the Directory will (ES256; "sub" = resident id; a "role" claim "&lt;role&gt;:&lt;scope id&gt;" per grant)
/// with a key of its own, and gives call options carrying one.
/// </summary>
public sealed class TestTokens
{
    public const string Issuer = "courtyard-test-directory";
    public const string Audience = "courtyard";
    private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestTokens() => Key = new ECDsaSecurityKey(key) { KeyId = "test" };

    public ECDsaSecurityKey Key { get; }

    /// <summary>The public key, for a worker process that validates these tokens.</summary>
    public string PublicKeyBase64 => Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());

    public static CallOptions Anonymous => new(deadline: DateTime.UtcNow.AddSeconds(60));

    public CallOptions As(string residentId, params string[] roles)
    {
        var claims = new Dictionary<string, object> { ["sub"] = residentId };
        if (roles.Length > 0) claims["role"] = roles;
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer, Audience = Audience, Claims = claims, Expires = DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.EcdsaSha256),
        });
        return new CallOptions(new Metadata { { "Authorization", "Bearer " + token } }, deadline: DateTime.UtcNow.AddSeconds(60));
    }
}
