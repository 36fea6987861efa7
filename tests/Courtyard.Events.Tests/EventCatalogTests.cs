using Courtyard.Events.Testing;

namespace Courtyard.Events.Tests;

public class EventCatalogTests
{
    [Theory]
    [InlineData("ThingHappened")]
    [InlineData("courtyard.testing.thing_happened")]
    [InlineData("courtyard.Testing.thing_happened.v1")]
    [InlineData("com.example.thing.v1")]
    public void Event_types_must_be_versioned_courtyard_names(string type)
    {
        var error = Assert.Throws<ArgumentException>(() => new EventCatalog().Map<ThingHappened>(type, "testing"));
        Assert.Contains("courtyard.<service>.<event>.v<N>", error.Message);
    }

    [Fact]
    public void A_type_string_and_a_message_are_mapped_once()
    {
        var catalog = new EventCatalog().Map<ThingHappened>(TestEvents.ThingHappenedType, "testing");
        catalog.Map<ThingHappened>(TestEvents.ThingHappenedType, "testing");   // the same declaration again is fine

        Assert.Throws<InvalidOperationException>(() => catalog.Map<PoisonPill>(TestEvents.ThingHappenedType, "testing"));
        Assert.Throws<InvalidOperationException>(() => catalog.Map<ThingHappened>("courtyard.testing.thing_happened.v2", "testing"));
        Assert.Equal(typeof(ThingHappened), catalog.FindByType(TestEvents.ThingHappenedType)!.MessageType);
        Assert.Null(catalog.FindByType("courtyard.testing.unknown.v1"));
    }

    [Fact]
    public async Task Handlers_need_a_mapped_event()
    {
        await using var database = new Support.TempDatabase();
        var bus = new EventBus(new EventBusOptions { Source = "rules" }, await database.OpenAsync(), new Transports.InProcessTransport(), new EventCatalog());
        var error = Assert.Throws<InvalidOperationException>(() => bus.Handle<ThingHappened>("rules", (_, _) => Task.CompletedTask));
        Assert.Contains("Map<ThingHappened>", error.Message);
    }
}
