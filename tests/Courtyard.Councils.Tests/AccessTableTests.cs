using Courtyard.Councils.Grpc;

namespace Courtyard.Councils.Tests;

public sealed class AccessTableTests
{
    /// <summary>A new RPC without a declared access fails here (and Authorization's matrix test will check each entry).</summary>
    [Fact]
    public void Every_rpc_of_the_service_is_declared_in_the_access_table_and_nothing_else()
    {
        var rpcs = Councils.V1.Councils.Descriptor.Methods.Select(method => method.Name).Order().ToList();
        Assert.Equal(rpcs, CouncilsAccess.Table.Keys.Order().ToList());
    }

    [Fact]
    public void Notices_are_public_and_changing_anything_needs_a_role()
    {
        Assert.Equal(["GetNotice", "GetPrintableNotice", "GetProposalKinds", "ListNotices", "VerifyNotice"],
            CouncilsAccess.Table.Where(entry => entry.Value.Anonymous).Select(entry => entry.Key).Order());
        Assert.All(CouncilsAccess.Table.Where(entry => !entry.Value.Anonymous), entry => Assert.NotEmpty(entry.Value.Roles));
    }
}
