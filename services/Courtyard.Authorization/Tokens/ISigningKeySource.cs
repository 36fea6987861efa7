using Microsoft.IdentityModel.Tokens;

namespace Courtyard.Authorization.Tokens;

/// <summary>
/// The public keys that may have signed a valid token, each with its key id. Directory's key ring implements it; where
/// Directory runs in the same process (the embedded host) every service validates against it directly instead of
/// fetching the published key set.
/// </summary>
public interface ISigningKeySource
{
    IReadOnlyList<SecurityKey> ValidationKeys { get; }
}
