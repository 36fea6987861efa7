using Courtyard.Grpc.Protocol;

namespace Courtyard.Grpc.Tests.Protocol;

public sealed class ProtocolTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("300n", 3L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void Grpc_timeout_parses_every_unit(string header, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("123456789S")]
    [InlineData("1s")]
    [InlineData("1.5S")]
    [InlineData("-1S")]
    [InlineData(" 1S")]
    public void Grpc_timeout_rejects_malformed_values(string header) => Assert.False(GrpcTimeout.TryParse(header, out _));

    [Theory]
    [InlineData(0.5)]
    [InlineData(2_000)]
    [InlineData(3_600_000)]
    [InlineData(400_000_000_000)]
    public void Grpc_timeout_format_round_trips_within_its_unit_and_never_shortens(double milliseconds)
    {
        var timeout = TimeSpan.FromMilliseconds(milliseconds);
        string header = GrpcTimeout.Format(timeout);

        Assert.InRange(header.Length, 2, 9);
        Assert.True(GrpcTimeout.TryParse(header, out var parsed));
        Assert.True(parsed >= timeout, $"{header} is shorter than {timeout}");
    }

    [Theory]
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("100%", "100%25")]
    [InlineData("投票", "%E6%8A%95%E7%A5%A8")]
    [InlineData("a\nb", "a%0Ab")]
    public void Grpc_message_is_percent_encoded_as_utf8(string message, string encoded)
    {
        Assert.Equal(encoded, PercentEncoding.Encode(message));
        Assert.Equal(message, PercentEncoding.Decode(encoded));
    }

    [Theory]
    [InlineData("100%")]
    [InlineData("%zz")]
    [InlineData("%E6")]
    public void Grpc_message_decoding_is_lenient_about_malformed_escapes(string encoded) => Assert.NotNull(PercentEncoding.Decode(encoded));

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("APPLICATION/GRPC", true)]
    [InlineData("application/grpc+json", false)]
    [InlineData("application/grpc-web", false)]
    [InlineData("text/plain", false)]
    [InlineData(null, false)]
    public void Only_grpc_proto_content_types_are_accepted(string? contentType, bool accepted)
        => Assert.Equal(accepted, GrpcProtocol.IsGrpcContentType(contentType));

    [Fact]
    public void Binary_metadata_accepts_padded_and_unpadded_base64_and_comma_separated_values()
    {
        var metadata = new Metadata();

        GrpcProtocol.AddWireHeader(metadata, "X-Key-Bin", "AAE=, AAEC,AA");

        Assert.Equal([[0, 1], [0, 1, 2], [0]], metadata.Select(e => e.ValueBytes));
        Assert.All(metadata, e => Assert.Equal("x-key-bin", e.Key));
    }

    [Fact]
    public void Metadata_refuses_keys_and_values_that_cannot_travel()
    {
        var metadata = new Metadata();

        Assert.Throws<ArgumentException>(() => metadata.Add("x-data-bin", "text"));
        Assert.Throws<ArgumentException>(() => metadata.Add("x-data", [1, 2]));
        Assert.Throws<ArgumentException>(() => metadata.Add("x-name", "张三"));
        Assert.Throws<ArgumentException>(() => metadata.Add("grpc-status", "0"));
        Assert.Throws<ArgumentException>(() => metadata.Add("bad key", "v"));
        metadata.Add("X-Mixed-Case", "v");
        Assert.Equal("v", metadata.GetValue("x-mixed-case"));
    }
}
