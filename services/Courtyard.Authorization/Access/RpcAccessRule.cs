using Courtyard.Directory.V1;
using Google.Protobuf.Reflection;

namespace Courtyard.Authorization.Access;

public enum RpcAccessKind
{
    /// <summary>Anyone, without a token: health, reflection, sign-in, redeeming a code, public notices.</summary>
    Anonymous,

    /// <summary>Any signed-in caller, about themself (WhoAmI) or about nothing private (the territory map).</summary>
    SignedIn,

    /// <summary>A caller holding one of <see cref="RpcAccessRule.Roles"/> in a scope that covers the territory the request is about.</summary>
    Scoped,
}

/// <summary>Who may call one RPC. Declared in the service's <see cref="RpcAccessTable"/>, nowhere else.</summary>
public sealed class RpcAccessRule
{
    internal RpcAccessRule(MethodDescriptor method, RpcAccessKind kind, IReadOnlySet<Role> roles, FieldDescriptor? scopeField,
        IScopeResolver? resolver, bool alsoSelf)
    {
        Method = method;
        Kind = kind;
        Roles = roles;
        ScopeField = scopeField;
        Resolver = resolver;
        AlsoSelf = alsoSelf;
    }

    public MethodDescriptor Method { get; }

    /// <summary>gRPC's path of the method: <c>/courtyard.directory.v1.Directory/GetHousehold</c>.</summary>
    public string Path => $"/{Method.Service.FullName}/{Method.Name}";

    public RpcAccessKind Kind { get; }

    /// <summary>For <see cref="RpcAccessKind.Scoped"/>: the roles that may call it.</summary>
    public IReadOnlySet<Role> Roles { get; }

    /// <summary>For <see cref="RpcAccessKind.Scoped"/>: the request's string field that says where the request reaches.</summary>
    public FieldDescriptor? ScopeField { get; }

    public IScopeResolver? Resolver { get; }

    /// <summary>The caller may also call it about themself: the scope field holds one of their resident ids or their account id.</summary>
    public bool AlsoSelf { get; }

    /// <summary>The scope field's value in a request of this method.</summary>
    public string ScopeValueOf(Google.Protobuf.IMessage request) =>
        ScopeField is null ? "" : (string)ScopeField.Accessor.GetValue(request);

    public override string ToString() => Kind switch
    {
        RpcAccessKind.Scoped => $"{Path}: {string.Join(", ", Roles.Order())} covering {ScopeField!.Name} ({Resolver!.Kind}){(AlsoSelf ? ", or the caller themself" : "")}",
        _ => $"{Path}: {Kind}",
    };
}
