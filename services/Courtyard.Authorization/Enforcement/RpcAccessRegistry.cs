using System.Collections.Frozen;
using Courtyard.Authorization.Access;

namespace Courtyard.Authorization.Enforcement;

/// <summary>
/// Every access table of the process (one per gRPC service it hosts), by gRPC method path. An RPC found in none is
/// refused: fail closed.
/// </summary>
public sealed class RpcAccessRegistry
{
    /// <summary>
    /// gRPC's own services, anonymous everywhere so probes and tools work without a token: health (Check, Watch, List)
    /// and server reflection v1 and v1alpha.
    /// </summary>
    public static readonly FrozenSet<string> AnonymousInfrastructureServices = new[]
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }.ToFrozenSet(StringComparer.Ordinal);

    private readonly FrozenDictionary<string, RpcAccessRule> byPath;

    public RpcAccessRegistry(IEnumerable<RpcAccessTable> tables)
    {
        var rules = new Dictionary<string, RpcAccessRule>(StringComparer.Ordinal);
        foreach (var table in tables.DistinctBy(t => t.Service.FullName))
        {
            foreach (var rule in table.Rules.Values)
            {
                rules[rule.Path] = rule;
            }
        }
        byPath = rules.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public IEnumerable<RpcAccessRule> Rules => byPath.Values;

    /// <summary>The rule for a gRPC method path (<c>/pkg.Service/Method</c>).</summary>
    public Decision Find(string path)
    {
        if (byPath.TryGetValue(path, out var rule))
        {
            return new Decision(rule, Anonymous: rule.Kind == RpcAccessKind.Anonymous);
        }
        int slash = path.IndexOf('/', 1);
        string service = slash > 1 ? path[1..slash] : "";
        return new Decision(null, Anonymous: AnonymousInfrastructureServices.Contains(service));
    }

    /// <summary>The rule of a declared RPC (null for the anonymous infrastructure services, or for an undeclared RPC).</summary>
    public readonly record struct Decision(RpcAccessRule? Rule, bool Anonymous)
    {
        public bool Declared => Rule is not null || Anonymous;
    }
}
