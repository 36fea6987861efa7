using Courtyard.Authorization.Access;
using Courtyard.Common.V1;
using Courtyard.Councils.Grpc;
using Courtyard.Directory.V1;
using Courtyard.Testing.Authorization;

namespace Courtyard.Councils.Tests;

public sealed class AccessTableTests
{
    [Fact]
    public void Notices_and_proposal_kinds_are_public_and_everything_else_needs_a_role_covering_the_request_s_courtyard()
    {
        Assert.Equal(Councils.V1.Councils.Descriptor.Methods.Select(m => m.Name).Order(), CouncilsAccess.Table.Rules.Keys.Order());
        Assert.Equal(["GetNotice", "GetPrintableNotice", "GetProposalKinds", "ListNotices", "VerifyNotice"],
            CouncilsAccess.Table.Rules.Values.Where(r => r.Kind == RpcAccessKind.Anonymous).Select(r => r.Method.Name).Order());
        Assert.All(CouncilsAccess.Table.Rules.Values.Where(r => r.Kind != RpcAccessKind.Anonymous), rule =>
        {
            Assert.Equal(RpcAccessKind.Scoped, rule.Kind);
            Assert.Equal("courtyard_id", rule.ScopeField!.Name);
            Assert.DoesNotContain(Role.PlatformAdmin, rule.Roles);
        });
    }

    /// <summary>Every Councils RPC × every role and no token × own, sibling and other courtyard ends exactly as CouncilsAccess declares.</summary>
    [Fact]
    public async Task Every_rpc_for_every_role_in_every_courtyard_ends_as_declared()
    {
        await using var host = await CouncilsTestHost.StartAsync();
        var territory = new MatrixTerritory("st_matrix", "cm_matrix", "cy_matrix_own", "cy_matrix_sibling", "cy_matrix_other");
        // Councils learns where each courtyard sits from Directory's TerritoryNodeCreated, as in production.
        foreach (var (courtyard, street, community) in new[]
                 {
                     (territory.OwnCourtyardId, territory.StreetId, territory.CommunityId),
                     (territory.SiblingCourtyardId, territory.StreetId, territory.CommunityId),
                     (territory.OtherCourtyardId, "st_matrix_elsewhere", "cm_matrix_elsewhere"),
                 })
        {
            await host.DeliverFromDirectoryAsync(courtyard, new TerritoryNodeCreated
            {
                NodeId = courtyard, Level = TerritoryLevel.Courtyard, Ref = new TerritoryRef { StreetId = street, CommunityId = community, CourtyardId = courtyard },
            });
        }
        var matrix = new AuthorizationMatrix
        {
            Table = CouncilsAccess.Table,
            Invoker = host.Host.Channel.CreateCallInvoker(),
            Tokens = host.Tokens,
            Territory = territory,
            SampleId = (_, place) => territory.CourtyardAt(place),
        };

        var mismatches = await matrix.RunAsync();

        Assert.True(mismatches.Count == 0, string.Join(Environment.NewLine, mismatches));
    }
}
