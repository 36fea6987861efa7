using System.Collections.Frozen;
using Courtyard.Directory.V1;
using Google.Protobuf.Reflection;

namespace Courtyard.Authorization.Access;

/// <summary>
/// Who may call each RPC of one gRPC service, declared once. <see cref="Builder.Build"/> refuses a table that leaves any
/// RPC of the service undeclared, so a new RPC cannot ship without a decision:
/// <code>
/// RpcAccessTable.For(DirectoryReflection.Descriptor.FindTypeByName&lt;ServiceDescriptor&gt;("Directory"))
///     .Anonymous("SignIn")
///     .SignedIn("WhoAmI")
///     .Scoped("ImportRoll", [Role.CommitteeMember, Role.CommitteeChair, …], "courtyard_id", ScopeResolvers.Courtyard)
///     .Build();
/// </code>
/// </summary>
public sealed class RpcAccessTable
{
    private RpcAccessTable(ServiceDescriptor service, FrozenDictionary<string, RpcAccessRule> rules)
    {
        Service = service;
        Rules = rules;
    }

    public ServiceDescriptor Service { get; }

    /// <summary>Rule per method name (<c>GetHousehold</c>).</summary>
    public FrozenDictionary<string, RpcAccessRule> Rules { get; }

    public static Builder For(ServiceDescriptor service) => new(service ?? throw new ArgumentNullException(nameof(service)));

    public sealed class Builder
    {
        private readonly ServiceDescriptor service;
        private readonly Dictionary<string, RpcAccessRule> rules = new(StringComparer.Ordinal);

        internal Builder(ServiceDescriptor service) => this.service = service;

        public Builder Anonymous(params string[] methods)
        {
            foreach (var method in methods)
            {
                Add(new RpcAccessRule(Method(method), RpcAccessKind.Anonymous, FrozenSet<Role>.Empty, null, null, false));
            }
            return this;
        }

        public Builder SignedIn(params string[] methods)
        {
            foreach (var method in methods)
            {
                Add(new RpcAccessRule(Method(method), RpcAccessKind.SignedIn, FrozenSet<Role>.Empty, null, null, false));
            }
            return this;
        }

        /// <summary>
        /// Callers holding one of <paramref name="roles"/> in a scope covering the territory that the request's
        /// <paramref name="scopeField"/> names (a courtyard grant covers that courtyard; a community grant its courtyards;
        /// a street grant its communities and courtyards; platform admin everything). An empty field names no territory:
        /// only a platform admin is covered.
        /// </summary>
        public Builder Scoped(string method, IEnumerable<Role> roles, string scopeField, IScopeResolver resolver, bool alsoSelf = false)
        {
            var descriptor = Method(method);
            if (descriptor.IsClientStreaming)
            {
                throw new ArgumentException($"{service.FullName}/{method} streams its requests: its scope cannot be read before the call starts. Declare it SignedIn and check inside, or make the request unary.", nameof(method));
            }
            var field = descriptor.InputType.FindFieldByName(scopeField)
                ?? throw new ArgumentException($"{descriptor.InputType.FullName} has no field \"{scopeField}\" (the scope of {method}).", nameof(scopeField));
            if (field.FieldType != FieldType.String || field.IsRepeated)
            {
                throw new ArgumentException($"The scope field {descriptor.InputType.FullName}.{scopeField} of {method} must be a single string.", nameof(scopeField));
            }
            var roleSet = roles.ToFrozenSet();
            if (roleSet.Count == 0 || roleSet.Contains(Role.Unspecified))
            {
                throw new ArgumentException($"{method} must name at least one role, and not ROLE_UNSPECIFIED.", nameof(roles));
            }
            Add(new RpcAccessRule(descriptor, RpcAccessKind.Scoped, roleSet, field, resolver ?? throw new ArgumentNullException(nameof(resolver)), alsoSelf));
            return this;
        }

        /// <summary>The table; throws, naming them, when any RPC of the service is not declared.</summary>
        public RpcAccessTable Build()
        {
            var missing = service.Methods.Where(m => !rules.ContainsKey(m.Name)).Select(m => m.Name).ToArray();
            if (missing.Length > 0)
            {
                throw new InvalidOperationException(
                    $"{service.FullName}: no access rule for {string.Join(", ", missing)}. Declare who may call each RPC in the service's access table.");
            }
            return new RpcAccessTable(service, rules.ToFrozenDictionary(StringComparer.Ordinal));
        }

        private MethodDescriptor Method(string name) =>
            service.FindMethodByName(name) ?? throw new ArgumentException($"{service.FullName} has no RPC \"{name}\".", nameof(name));

        private void Add(RpcAccessRule rule)
        {
            if (!rules.TryAdd(rule.Method.Name, rule))
            {
                throw new ArgumentException($"{service.FullName}/{rule.Method.Name} is declared twice.");
            }
        }
    }
}
