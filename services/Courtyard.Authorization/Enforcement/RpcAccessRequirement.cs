using Courtyard.Authorization.Access;
using Google.Protobuf;
using Microsoft.AspNetCore.Authorization;

namespace Courtyard.Authorization.Enforcement;

/// <summary>The ASP.NET Core authorization requirement "the caller passes this RPC's declared rule for this request".</summary>
public sealed class RpcAccessRequirement(RpcAccessRule rule) : IAuthorizationRequirement
{
    public RpcAccessRule Rule { get; } = rule;
}

/// <summary>The resource an RPC's rule is checked against: the request message (its scope field says where it reaches).</summary>
public sealed record RpcRequestResource(IMessage Request);
