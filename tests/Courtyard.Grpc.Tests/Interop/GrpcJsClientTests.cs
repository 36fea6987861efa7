using System.Text.Json;
using Courtyard.Testing;

namespace Courtyard.Grpc.Tests.Interop;

/// <summary>
/// The @grpc/grpc-js 1.14 client (tests/Interop/client.js) against our server: one test per client.js scenario.
/// Where the client alone cannot tell (cancellation, deadline, request compression), the test also checks what our
/// server observed of the same call.
/// </summary>
public sealed class GrpcJsClientTests(OurServerFixture server) : IClassFixture<OurServerFixture>
{
    /// <summary>Every scenario client.js knows; <see cref="Client_js_offers_exactly_these_scenarios"/> keeps the two lists equal.</summary>
    public static readonly string[] ScenarioNames =
    [
        "unary", "response-size", "server-streaming", "server-streaming-error", "server-streaming-empty",
        "client-streaming", "client-streaming-empty", "duplex", "deadline-exceeded", "deadline-exceeded-streaming",
        "cancel-unary", "cancel-streaming", "error-status", "unimplemented", "metadata", "metadata-on-error",
        "metadata-multi-value", "compression-request", "compression-per-message", "compression-response",
        "max-message-request", "max-message-response", "health", "reflection-v1", "reflection-v1alpha",
    ];

    private static readonly TimeSpan ObservationTimeout = TimeSpan.FromSeconds(5);

    // grpc-js (subchannel-call maybeOutputStatus) surfaces a non-OK status at once, dropping messages whose gunzip is still
    // pending, so "chunks, then an error" is only observable from grpc-js when the chunks arrive uncompressed.
    private static readonly HashSet<string> ScenariosNeedingUncompressedResponses = ["server-streaming-error"];

    public static TheoryData<string> Scenarios => new(ScenarioNames);

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Grpc_js_client_scenario_passes_against_our_server(string scenario)
    {
        var result = await RunClientAsync(scenario);

        if (!result.GetProperty("pass").GetBoolean())
        {
            Assert.Fail($"grpc-js scenario '{scenario}' failed against our server: {result.GetProperty("error")}\nour server logged:\n{server.LoggedProblems()}");
        }
        await AssertWhatOurServerObservedAsync(scenario, result.GetProperty("details"));
    }

    [Fact]
    public async Task Client_js_offers_exactly_these_scenarios()
    {
        var (exitCode, output, error) = await ChildProcess.RunToEndAsync("node", ["client.js", "--list"], NodePeers.Directory, TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 0, error);
        Assert.Equal(ScenarioNames, output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    private async Task AssertWhatOurServerObservedAsync(string scenario, JsonElement details)
    {
        switch (scenario)
        {
            case "cancel-unary" or "cancel-streaming":
            {
                await Observed(server.Server.CallLog.WaitForCallAsync(CallId(details), ObservationTimeout), "the call reach InteropService");
                var cancellation = await Observed(server.Server.CallLog.WaitForCancellationAsync(CallId(details), ObservationTimeout),
                    "ServerCallContext.CancellationToken fire after the grpc-js client cancelled");
                Assert.Equal("cancelled", cancellation.Reason);
                break;
            }
            case "deadline-exceeded" or "deadline-exceeded-streaming":
            {
                var call = await Observed(server.Server.CallLog.WaitForCallAsync(CallId(details), ObservationTimeout), "the call reach InteropService");
                Assert.True(call.Deadline != DateTime.MaxValue, "our server derived no deadline from the grpc-js client's grpc-timeout");
                var cancellation = await Observed(server.Server.CallLog.WaitForCancellationAsync(CallId(details), ObservationTimeout),
                    "ServerCallContext.CancellationToken fire at the deadline");
                Assert.Equal("deadline", cancellation.Reason);
                break;
            }
            case "compression-request":
                Assert.Equal("gzip", server.Encodings.EncodingOf(CallId(details)));
                break;
        }
    }

    private static async Task<T> Observed<T>(Task<T> observation, string what)
    {
        try
        {
            return await observation;
        }
        catch (TimeoutException)
        {
            Assert.Fail($"our server did not see {what} within {ObservationTimeout.TotalSeconds} s");
            throw;
        }
    }

    private static string CallId(JsonElement details) => details.GetProperty("callId").GetString()!;

    private async Task<JsonElement> RunClientAsync(string scenario)
    {
        var (exitCode, output, error) = await ChildProcess.RunToEndAsync("node",
            ["client.js", "--target", ScenariosNeedingUncompressedResponses.Contains(scenario) ? server.UncompressedTarget : server.Target, "--scenario", scenario], NodePeers.Directory, TimeSpan.FromSeconds(90));
        string? line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
        Assert.True(line is not null, $"client.js printed no result (exit {exitCode}). stderr: {error}");
        using var document = JsonDocument.Parse(line);
        var result = document.RootElement.Clone();
        Assert.Equal(scenario, result.GetProperty("scenario").GetString());
        Assert.True(result.GetProperty("pass").GetBoolean() == (exitCode == 0), $"client.js exit code {exitCode} disagrees with its result {line}");
        return result;
    }
}
