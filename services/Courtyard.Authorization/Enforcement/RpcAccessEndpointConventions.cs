using Courtyard.Authorization.Access;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;

namespace Courtyard.Authorization.Enforcement;

public static class RpcAccessEndpointConventions
{
    /// <summary>The policy on every non-anonymous gRPC method: a valid Courtyard access token.</summary>
    public const string SignedInPolicy = "courtyard.signed-in";

    /// <summary>
    /// Puts each method's declared rule on its endpoint, where ASP.NET Core's authorization middleware applies it: an
    /// anonymous RPC allows anonymous callers; every other RPC requires <see cref="SignedInPolicy"/> (no valid token:
    /// UNAUTHENTICATED before the handler runs). Scoped rules are then decided per request by
    /// <see cref="RpcAccessInterceptor"/>.
    /// <code>app.MapGrpcService&lt;DirectoryService&gt;().RequireRpcAccess(DirectoryAccess.Table);</code>
    /// </summary>
    public static GrpcServiceEndpointConventionBuilder RequireRpcAccess(this GrpcServiceEndpointConventionBuilder builder, RpcAccessTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        builder.Add(endpoint =>
        {
            var method = endpoint.Metadata.OfType<GrpcMethodMetadata>().FirstOrDefault();
            if (method is null)
            {
                return;
            }
            if (method.Method.ServiceName != table.Service.FullName)
            {
                throw new InvalidOperationException($"The access table of {table.Service.FullName} was applied to {method.Method.ServiceName}.");
            }
            if (!table.Rules.TryGetValue(method.Method.Name, out var rule))
            {
                // The generated base binds every RPC of the contract, which the table must cover: this is an older table.
                throw new InvalidOperationException($"{method.Method.FullName} has no access rule in the table of {table.Service.FullName}.");
            }
            endpoint.Metadata.Add(rule);
            endpoint.Metadata.Add(rule.Kind == RpcAccessKind.Anonymous ? new AllowAnonymousAttribute() : new AuthorizeAttribute(SignedInPolicy));
        });
        return builder;
    }
}
