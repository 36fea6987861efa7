using Courtyard.Common.V1;
using Courtyard.Councils.IntegrationEvents;
using Courtyard.Councils.Proposals;
using Courtyard.Councils.Roll;
using Courtyard.Councils.V1;
using Courtyard.Councils.Voting;
using Google.Protobuf.Reflection;

namespace Courtyard.Councils.Tests.IntegrationEvents;

public sealed class IntegrationEventTests
{
    private static readonly MessageDescriptor[] Published =
    [
        ProposalTabled.Descriptor, PetitionTabled.Descriptor, VotingOpened.Descriptor, BallotCast.Descriptor, VoteClosed.Descriptor,
        ProposalPassed.Descriptor, ProposalRejected.Descriptor, NoticePosted.Descriptor, ObjectionRaised.Descriptor,
    ];

    [Fact]
    public void Every_event_declares_its_cloud_events_type_and_topic()
    {
        foreach (var descriptor in Published)
        {
            var declared = descriptor.GetOptions().GetExtension(IntegrationEventExtensions.IntegrationEvent);
            Assert.Equal("councils", declared.Topic);
            Assert.Matches(@"^courtyard\.councils\.[a-z_]+\.v1$", declared.Type);
        }
    }

    /// <summary>BallotCast can never carry a choice: the contract has no field for one, and it is built from provenance only.</summary>
    [Fact]
    public void BallotCast_carries_provenance_and_no_choice()
    {
        Assert.DoesNotContain(BallotCast.Descriptor.Fields.InDeclarationOrder(), field => field.FieldType == FieldType.Enum && field.EnumType.FullName == "courtyard.councils.v1.BallotChoice");
        Assert.DoesNotContain(BallotCast.Descriptor.Fields.InDeclarationOrder(), field => field.Name.Contains("option", StringComparison.Ordinal));

        var spec = new VoteSpec("cy_1", "vt_1", "pp_1", new TerritoryPath("st", "cm", "cy_1"),
            new Courtyard.Councils.Proposals.BallotDesign(DecisionRuleKind.SimpleMajority, ElectorateKind.PerHousehold, true, [], 0, false),
            DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddDays(1), new AuditRecord("rs_m", "rs_m", DateTimeOffset.UnixEpoch, ChannelRecord.Online, "r0"));
        var proxy = new ChannelRecord(ChannelKind.Proxy, EnteredById: "rs_m", ProxyId: "rs_son", WitnessId: "rs_w", Reason: "住院");
        var ballot = new BallotRecorded("bl_1", "hh_1", Choice.Against, [], new AuditRecord("hh_1", "rs_m", DateTimeOffset.UnixEpoch, proxy, "r1"), 2);
        var cast = CouncilsEvents.BallotCast(spec, ballot);
        Assert.Equal(("hh_1", 2, "rs_son", "rs_w", "住院"), (cast.VoterId, cast.Revision, cast.Audit.Channel.Proxy.ProxyId, cast.Audit.Channel.Proxy.WitnessId, cast.Audit.Channel.Proxy.Reason));
        Assert.Equal(ballot.BallotId, cast.BallotId);
    }
}
