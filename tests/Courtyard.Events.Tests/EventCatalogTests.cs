using System.Diagnostics;
using Courtyard.Councils.V1;
using Courtyard.Events.Testing;
using Courtyard.Storage;

namespace Courtyard.Events.Tests;

/// <summary>Each event's CloudEvents type and topic come from its contract's proto option, and nowhere else.</summary>
public class EventCatalogTests
{
    private sealed class VoteState : IHasPendingEffects
    {
        public PendingEffects Effects { get; } = new();
    }

    [Fact]
    public void Type_and_topic_are_read_from_the_integration_event_option_of_the_message()
    {
        Assert.Equal((TestEvents.ThingHappenedType, TestEvents.Topic), (EventCatalog.Get<ThingHappened>().Type, EventCatalog.Get<ThingHappened>().Topic));
        // A platform contract, declared in proto/courtyard/councils/v1/events.proto.
        var passed = EventCatalog.Get<ProposalPassed>();
        Assert.Equal(("courtyard.councils.proposal_passed.v1", "councils"), (passed.Type, passed.Topic));
        Assert.Equal(typeof(ProposalPassed), passed.MessageType);
    }

    [Fact]
    public void A_message_without_the_option_is_not_an_event()
    {
        var error = Assert.Throws<InvalidOperationException>(() => EventCatalog.Get<NotAnEvent>());
        Assert.Contains("courtyard.testing.v1.NotAnEvent is not an integration event", error.Message);
        Assert.Throws<InvalidOperationException>(() => EventCatalog.ToOutbox("courtyard-1", new NotAnEvent()));
    }

    [Fact]
    public void Every_integration_event_of_the_platform_declares_a_well_formed_type_and_its_services_topic()
    {
        var contracts = typeof(ProposalPassed).Assembly.GetTypes()
            .Where(t => typeof(Google.Protobuf.IMessage).IsAssignableFrom(t) && t.Namespace?.StartsWith("Courtyard.", StringComparison.Ordinal) == true
                && t.GetProperty("Descriptor", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static) is not null)
            .Select(t => (Google.Protobuf.Reflection.MessageDescriptor)t.GetProperty("Descriptor")!.GetValue(null)!)
            .Where(d => d.File.Name.EndsWith("/events.proto", StringComparison.Ordinal) && d.ContainingType is null)
            .ToList();
        Assert.NotEmpty(contracts);
        Assert.All(contracts, descriptor =>
        {
            var definition = EventCatalog.Get(descriptor);
            var service = descriptor.File.Package.Split('.')[1];   // courtyard.<service>.v1
            Assert.StartsWith($"courtyard.{service}.", definition.Type);
            Assert.Equal(service, definition.Topic);
        });
        Assert.Equal(contracts.Count, contracts.Select(d => EventCatalog.Get(d).Type).Distinct().Count());
    }

    [Fact]
    public void Raise_queues_the_event_on_the_state_as_an_outbox_row_with_the_current_trace()
    {
        var state = new VoteState();
        using var activity = new Activity("vote closed").SetIdFormat(ActivityIdFormat.W3C).Start();

        state.Raise("courtyard-7", new ProposalPassed { ProposalId = "p-1" });

        var row = Assert.Single(state.Effects.Outbox);
        Assert.Equal(("courtyard-7", "councils", "courtyard.councils.proposal_passed.v1", activity.Id), (row.CourtyardId, row.Topic, row.EventType, row.TraceParent));
        Assert.Equal("p-1", ProposalPassed.Parser.ParseJson(row.Payload).ProposalId);
    }
}
