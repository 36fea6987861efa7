using System.Text.Json;
using Courtyard.Events.Testing;

namespace Courtyard.Events.Tests;

public class CloudEventTests
{
    [Fact]
    public void Envelope_is_cloudevents_1_0_json_with_the_payload_as_a_json_object()
    {
        var data = EventCatalog.FormatData(new ThingHappened { ThingId = "院子-7/1", Sequence = 42 });
        var cloudEvent = new CloudEvent
        {
            Id = "councils-1234",
            Source = "councils",
            Type = "courtyard.councils.proposal_passed.v1",
            Subject = "courtyard-7",
            Time = new DateTimeOffset(2025, 3, 1, 8, 30, 0, TimeSpan.Zero),
            Data = data,
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        };

        using var json = JsonDocument.Parse(cloudEvent.ToJsonUtf8());
        var root = json.RootElement;
        Assert.Equal("1.0", root.GetProperty("specversion").GetString());
        Assert.Equal("councils-1234", root.GetProperty("id").GetString());
        Assert.Equal("councils", root.GetProperty("source").GetString());
        Assert.Equal("courtyard.councils.proposal_passed.v1", root.GetProperty("type").GetString());
        Assert.Equal("courtyard-7", root.GetProperty("subject").GetString());
        Assert.Equal("application/json", root.GetProperty("datacontenttype").GetString());
        Assert.Equal("2025-03-01T08:30:00.000000Z", root.GetProperty("time").GetString());
        Assert.Equal(cloudEvent.TraceParent, root.GetProperty("traceparent").GetString());
        Assert.Equal(JsonValueKind.Object, root.GetProperty("data").ValueKind);
        Assert.Equal("院子-7/1", root.GetProperty("data").GetProperty("thingId").GetString());

        var parsed = CloudEvent.Parse(cloudEvent.ToJsonUtf8());
        Assert.Equal(cloudEvent, parsed with { Data = data });
        Assert.Equal(42, new Google.Protobuf.JsonParser(Google.Protobuf.JsonParser.Settings.Default).Parse<ThingHappened>(parsed.Data).Sequence);
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("[1]", "not a JSON object")]
    [InlineData("{\"specversion\":\"0.3\",\"id\":\"a\",\"source\":\"s\",\"type\":\"t\",\"data\":{}}", "specversion")]
    [InlineData("{\"specversion\":\"1.0\",\"source\":\"s\",\"type\":\"t\",\"data\":{}}", "\"id\"")]
    public void Parse_rejects_what_is_not_a_cloudevent_naming_the_problem(string body, string expected)
    {
        var error = Assert.Throws<FormatException>(() => CloudEvent.Parse(System.Text.Encoding.UTF8.GetBytes(body)));
        Assert.Contains(expected, error.Message);
    }
}
