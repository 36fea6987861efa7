using Courtyard.Common.V1;
using Courtyard.Councils.IntegrationEvents;
using Courtyard.Councils.V1;
using Courtyard.Directory.V1;
using Courtyard.Events;
using Courtyard.Events.Inbox;
using Courtyard.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Councils.Tests.IntegrationEvents;

/// <summary>
/// Councils' handlers of Directory's membership events take effect once per event: the handler passes the delivery's
/// inbox mark to the grain, whose one state write commits the mark with the change. Two deliveries that both pass the
/// duplicate check (competing consumers, a redelivery racing the first) are raced through the bus's dispatcher.
/// </summary>
public sealed class MembershipEventHandlersTests : IAsyncLifetime
{
    private CouncilsTestHost host = null!;

    public async Task InitializeAsync() => host = await CouncilsTestHost.StartAsync();

    public async Task DisposeAsync() => await host.DisposeAsync();

    private EventBus Bus => host.Services.GetRequiredKeyedService<EventBus>(CouncilsNames.Service);

    [Fact]
    public async Task Two_racing_deliveries_of_a_resident_joining_take_effect_once_with_the_mark_committed()
    {
        var courtyard = await TestCourtyard.SeedAsync(host, 2);
        var (_, joined) = CouncilsTestHost.FromDirectory(courtyard.Id, new ResidentJoined
        {
            ResidentId = "rs_lodger", HouseholdId = courtyard.Households[0].Id, Ref = courtyard.Territory, Relation = HouseholdRelation.FamilyMember,
        });

        var outcomes = await Bus.DeliverConcurrentlyAsync(MembershipEventHandlers.Consumer, joined);

        Assert.Equal(1, outcomes.Count(outcome => outcome == HandleOutcome.Handled));
        Assert.True(await Bus.Storage.Inbox.ContainsAsync(new InboxMark(MembershipEventHandlers.Consumer, "directory", joined.Id)));
        var council = await host.Client.GetCouncilAsync(new GetCouncilRequest { CourtyardId = courtyard.Id }, courtyard.Owner(0));
        Assert.Equal(3, council.ResidentsOnRoll);
    }

    [Fact]
    public async Task Two_racing_deliveries_of_a_courtyard_created_record_its_place_once()
    {
        var (_, created) = CouncilsTestHost.FromDirectory("cy_placed", new TerritoryNodeCreated
        {
            NodeId = "cy_placed", Level = TerritoryLevel.Courtyard, Ref = new TerritoryRef { StreetId = "st_p", CommunityId = "cm_p", CourtyardId = "cy_placed" },
        });

        var outcomes = await Bus.DeliverConcurrentlyAsync(MembershipEventHandlers.Consumer, created);

        Assert.Equal(1, outcomes.Count(outcome => outcome == HandleOutcome.Handled));
        var official = host.As("ac_official", [new(Role.CommunityOfficial, "cm_p")]);
        // The community official reads the courtyard: Councils knows it lies in their community.
        var council = await host.Client.GetCouncilAsync(new GetCouncilRequest { CourtyardId = "cy_placed" }, official);
        Assert.Equal(0, council.HouseholdsOnRoll);
    }
}
