using System.Text.Json;
using Courtyard.Testing;

namespace Courtyard.ServiceDefaults.Tests.Grpc.Interop;

/// <summary>
/// The @grpc/grpc-js 1.14 client (tests/Interop/client.js) against a service host built with ServiceDefaults: one test
/// per client.js scenario. Where the client alone cannot tell (cancellation, deadline, request compression), the test
/// also checks what our handler observed of the same call.
/// </summary>
public sealed class GrpcJsClientTests(OurServerFixture servers) : IClassFixture<OurServerFixture>
{
    /// <summary>Every scenario client.js knows; <see cref="Client_js_offers_exactly_these_scenarios"/> keeps the two lists equal.</summary>
    public static readonly string[] ScenarioNames =
    [
        "unary", "response-size", "server-streaming", "server-streaming-error", "server-streaming-empty",
        "client-streaming", "client-streaming-empty", "duplex", "deadline-exceeded", "deadline-exceeded-streaming",
        "cancel-unary", "cancel-streaming", "error-status", "refusal", "unexpected-error", "unimplemented", "metadata",
        "metadata-on-error", "metadata-multi-value", "compression-request", "compression-per-message", "compression-response",
        "max-message-request", "max-message-response", "health", "reflection-v1", "reflection-v1alpha",
    ];

    private static readonly TimeSpan ObservationTimeout = TimeSpan.FromSeconds(5);

    // Responses are compressed only where a service is configured to (Courtyard:Grpc:ResponseCompression=gzip).
    private static readonly HashSet<string> ScenariosNeedingGzipResponses = ["compression-response"];

    public static TheoryData<string> Scenarios => new(ScenarioNames);

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Grpc_js_client_scenario_passes_against_a_service_host(string scenario)
    {
        var server = ScenariosNeedingGzipResponses.Contains(scenario) ? servers.GzipServer : servers.Server;

        var result = await RunClientAsync(server.Target, scenario);

        if (!result.GetProperty("pass").GetBoolean())
        {
            Assert.Fail($"grpc-js scenario '{scenario}' failed against our host: {result.GetProperty("error")}\nour host logged:\n{server.LoggedProblems()}");
        }
        await AssertWhatOurHandlerObservedAsync(server, scenario, result.GetProperty("details"));
    }

    [Fact]
    public async Task Client_js_offers_exactly_these_scenarios()
    {
        var (exitCode, output, error) = await ChildProcess.RunToEndAsync("node", ["client.js", "--list"], NodePeers.Directory, TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 0, error);
        Assert.Equal(ScenarioNames, output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task An_unexpected_failure_is_logged_with_its_stack_under_the_reference_the_caller_was_given()
    {
        var result = await RunClientAsync(servers.Server.Target, "unexpected-error");

        string details = result.GetProperty("details").GetProperty("details").GetString()!;
        string reference = details[(details.LastIndexOf("reference ", StringComparison.Ordinal) + "reference ".Length)..].TrimEnd('）');
        await Eventually.HoldsAsync(() => servers.Server.Logs.Records.Any(r => r.Exception?.Message.Contains("hunter2", StringComparison.Ordinal) == true
                && r.Message.Contains(reference, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(5), $"the host logged the exception with reference {reference}");
    }

    private static async Task AssertWhatOurHandlerObservedAsync(InteropTestServer server, string scenario, JsonElement details)
    {
        switch (scenario)
        {
            case "cancel-unary" or "cancel-streaming":
            {
                await Observed(server.CallLog.WaitForCallAsync(CallId(details), ObservationTimeout), "the call reach InteropService");
                var cancellation = await Observed(server.CallLog.WaitForCancellationAsync(CallId(details), ObservationTimeout),
                    "ServerCallContext.CancellationToken fire after the grpc-js client cancelled");
                Assert.Equal("cancelled", cancellation.Reason);
                break;
            }
            case "deadline-exceeded" or "deadline-exceeded-streaming":
            {
                var call = await Observed(server.CallLog.WaitForCallAsync(CallId(details), ObservationTimeout), "the call reach InteropService");
                Assert.True(call.Deadline != DateTime.MaxValue, "our handler got no deadline from the grpc-js client's grpc-timeout");
                var cancellation = await Observed(server.CallLog.WaitForCancellationAsync(CallId(details), ObservationTimeout),
                    "ServerCallContext.CancellationToken fire at the deadline");
                Assert.Equal("deadline", cancellation.Reason);
                break;
            }
            case "compression-request":
            {
                var call = await Observed(server.CallLog.WaitForCallAsync(CallId(details), ObservationTimeout), "the call reach InteropService");
                Assert.Equal("gzip", call.RequestEncoding);
                break;
            }
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
            Assert.Fail($"our handler did not see {what} within {ObservationTimeout.TotalSeconds} s");
            throw;
        }
    }

    private static string CallId(JsonElement details) => details.GetProperty("callId").GetString()!;

    private static async Task<JsonElement> RunClientAsync(string target, string scenario)
    {
        var (exitCode, output, error) = await ChildProcess.RunToEndAsync("node",
            ["client.js", "--target", target, "--scenario", scenario], NodePeers.Directory, TimeSpan.FromSeconds(90));
        string? line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
        Assert.True(line is not null, $"client.js printed no result (exit {exitCode}). stderr: {error}");
        using var document = JsonDocument.Parse(line);
        var result = document.RootElement.Clone();
        Assert.Equal(scenario, result.GetProperty("scenario").GetString());
        Assert.True(result.GetProperty("pass").GetBoolean() == (exitCode == 0), $"client.js exit code {exitCode} disagrees with its result {line}");
        return result;
    }
}
