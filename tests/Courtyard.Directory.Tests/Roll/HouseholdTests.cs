using Courtyard.Directory.Tests.Support;
using Courtyard.Directory.V1;
using Courtyard.Testing.Authorization;
using Courtyard.Testing.Services;
using Grpc.Core;

namespace Courtyard.Directory.Tests.Roll;

/// <summary>Keeping the roll by hand, and the membership events councils keeps its electorate from.</summary>
public abstract class HouseholdTests(TestStorage storage) : DirectoryScenario(storage)
{
    public sealed class OnSqlite() : HouseholdTests(TestStorage.Sqlite);

    public sealed class OnPostgres() : HouseholdTests(TestStorage.Postgres);

    [Fact]
    public async Task A_household_its_representative_and_a_move_out_each_raise_the_event_councils_needs()
    {
        var client = Host.Client();
        var household = await client.RegisterHouseholdAsync(new RegisterHouseholdRequest
        {
            RequestId = Calls.NewRequestId(), CourtyardId = Territory.OwnCourtyardId, Building = "7", Unit = "1", Room = "302",
            ExclusiveAreaDm2 = 7650, Occupancy = Occupancy.Owner,
        }, AdminHeaders);
        var owner = await client.RegisterResidentAsync(new RegisterResidentRequest
        {
            RequestId = Calls.NewRequestId(), HouseholdId = household.Id, Relation = HouseholdRelation.Owner, DisplayName = "孙桂芝", Offline = true,
        }, AdminHeaders);
        await client.SetHouseholdRepresentativeAsync(new SetHouseholdRepresentativeRequest
        {
            RequestId = Calls.NewRequestId(), HouseholdId = household.Id, ResidentId = owner.Id,
        }, AdminHeaders);
        var corrected = await client.UpdateHouseholdAsync(new UpdateHouseholdRequest
        {
            RequestId = Calls.NewRequestId(), HouseholdId = household.Id, ExclusiveAreaDm2 = 7712, Reason = "按不动产权证更正",
        }, AdminHeaders);

        var left = await client.EndResidencyAsync(new EndResidencyRequest { RequestId = Calls.NewRequestId(), ResidentId = owner.Id }, AdminHeaders);

        Assert.Equal("7栋1单元302", household.DoorLabel);
        Assert.Equal(7712, corrected.ExclusiveAreaDm2);
        Assert.NotNull(left.Until);
        var changes = (await Host.CommittedEventsAsync<HouseholdChanged>()).Where(e => e.HouseholdId == household.Id).ToArray();
        Assert.Equal(
            [HouseholdChange.Registered, HouseholdChange.Representative, HouseholdChange.Area, HouseholdChange.Representative],
            changes.SelectMany(c => c.Changes));
        Assert.Equal(owner.Id, changes[1].RepresentativeId);
        Assert.Equal(("7", "1", "302"), (changes[0].Building, changes[0].Unit, changes[0].Room));
        Assert.Equal((7650, 7712), (changes[2].PreviousAreaDm2, changes[2].ExclusiveAreaDm2));
        Assert.Equal("", changes[3].RepresentativeId);
        var joined = Assert.Single((await Host.CommittedEventsAsync<ResidentJoined>()), e => e.ResidentId == owner.Id);
        Assert.True(joined.Offline);
        Assert.Equal(Territory.CommunityId, joined.Ref.CommunityId);
        Assert.Single((await Host.CommittedEventsAsync<ResidentLeft>()), e => e.ResidentId == owner.Id);
        Assert.Empty((await client.GetHouseholdAsync(new GetHouseholdRequest { HouseholdId = household.Id }, AdminHeaders)).ResidentIds);
        var audit = await Host.AuditEntriesAsync(Territory.OwnCourtyardId, AdminHeaders);
        Assert.Contains(audit.Entries, e => e.Kind == AuditKind.HouseholdChanged && e.Details.GetValueOrDefault("reason") == "按不动产权证更正");
    }

    [Fact]
    public async Task A_representative_must_live_in_the_household_and_bad_input_changes_nothing()
    {
        var client = Host.Client();
        var household = await client.RegisterHouseholdAsync(new RegisterHouseholdRequest
        {
            RequestId = Calls.NewRequestId(), CourtyardId = Territory.OwnCourtyardId, Building = "7", Unit = "1", Room = "303", ExclusiveAreaDm2 = 7650,
        }, AdminHeaders);
        var other = await client.RegisterHouseholdAsync(new RegisterHouseholdRequest
        {
            RequestId = Calls.NewRequestId(), CourtyardId = Territory.OwnCourtyardId, Building = "7", Unit = "1", Room = "304", ExclusiveAreaDm2 = 7650,
        }, AdminHeaders);
        var neighbour = await client.RegisterResidentAsync(new RegisterResidentRequest
        {
            RequestId = Calls.NewRequestId(), HouseholdId = other.Id, Relation = HouseholdRelation.Owner, DisplayName = "周伟",
        }, AdminHeaders);
        int events = (await Host.CommittedEventsAsync()).Count;

        var notLiving = await Assert.ThrowsAsync<RpcException>(() => client.SetHouseholdRepresentativeAsync(new SetHouseholdRepresentativeRequest
        {
            RequestId = Calls.NewRequestId(), HouseholdId = household.Id, ResidentId = neighbour.Id,
        }, AdminHeaders).ResponseAsync);
        var zeroArea = await Assert.ThrowsAsync<RpcException>(() => client.RegisterHouseholdAsync(new RegisterHouseholdRequest
        {
            RequestId = Calls.NewRequestId(), CourtyardId = Territory.OwnCourtyardId, Building = "7", Unit = "1", Room = "305", ExclusiveAreaDm2 = -1,
        }, AdminHeaders).ResponseAsync);
        var twice = await Assert.ThrowsAsync<RpcException>(() => client.RegisterHouseholdAsync(new RegisterHouseholdRequest
        {
            RequestId = Calls.NewRequestId(), CourtyardId = Territory.OwnCourtyardId, Building = "7", Unit = "1", Room = "303", ExclusiveAreaDm2 = 7650,
        }, AdminHeaders).ResponseAsync);
        var badPhone = await Assert.ThrowsAsync<RpcException>(() => client.RegisterResidentAsync(new RegisterResidentRequest
        {
            RequestId = Calls.NewRequestId(), HouseholdId = household.Id, Relation = HouseholdRelation.Owner, DisplayName = "吴敏", Phone = "12345",
        }, AdminHeaders).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, notLiving.StatusCode);
        Assert.StartsWith("户代表必须是本户现住居民", notLiving.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, zeroArea.StatusCode);
        Assert.Equal(StatusCode.AlreadyExists, twice.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, badPhone.StatusCode);
        Assert.Equal(events, (await Host.CommittedEventsAsync()).Count);
        Assert.Equal(2, (await client.AllHouseholdsAsync(Admin, Territory.OwnCourtyardId)).Count);
    }
}
