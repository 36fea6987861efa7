using Courtyard.Authorization.Access;
using Courtyard.Directory.V1;
using Google.Protobuf.Reflection;

namespace Courtyard.Authorization.Tests.Access;

/// <summary>A table that leaves an RPC undeclared, or declares what the contract does not have, cannot be built.</summary>
public sealed class RpcAccessTableTests
{
    private static readonly ServiceDescriptor Directory = DirectoryReflection.Descriptor.FindTypeByName<ServiceDescriptor>("Directory");

    [Fact]
    public void A_table_without_a_rule_for_every_rpc_names_the_missing_ones()
    {
        var builder = RpcAccessTable.For(Directory).Anonymous("SignIn", "RedeemInvitation", "RefreshToken", "SignOut");

        var refused = Assert.Throws<InvalidOperationException>(builder.Build);

        Assert.Contains("no access rule for", refused.Message);
        Assert.Contains("ImportRoll", refused.Message);
        Assert.Contains("WhoAmI", refused.Message);
        Assert.DoesNotContain("SignIn,", refused.Message);
    }

    [Fact]
    public void Declaring_an_rpc_the_contract_does_not_have_or_twice_is_refused()
    {
        Assert.Throws<ArgumentException>(() => RpcAccessTable.For(Directory).SignedIn("NoSuchRpc"));
        Assert.Throws<ArgumentException>(() => RpcAccessTable.For(Directory).SignedIn("WhoAmI").Anonymous("WhoAmI"));
    }

    [Fact]
    public void A_scope_must_be_a_string_field_of_the_request_and_name_a_role()
    {
        Assert.Throws<ArgumentException>(() => RpcAccessTable.For(Directory).Scoped("ImportRoll", [Role.CommitteeChair], "no_such_field", ScopeResolvers.Courtyard));
        Assert.Throws<ArgumentException>(() => RpcAccessTable.For(Directory).Scoped("ImportRoll", [Role.CommitteeChair], "dry_run", ScopeResolvers.Courtyard));
        Assert.Throws<ArgumentException>(() => RpcAccessTable.For(Directory).Scoped("ImportRoll", [], "courtyard_id", ScopeResolvers.Courtyard));
    }
}
