using Courtyard.Interop.V1;
using Microsoft.Extensions.DependencyInjection;
using InteropClient = Courtyard.Interop.V1.Interop.InteropClient;

namespace Courtyard.ServiceDefaults.Tests.Grpc;

/// <summary>
/// A service calling another through <c>AddServiceClient</c> (Grpc.Net.ClientFactory): where the call goes, and what
/// of the caller's call travels with it.
/// </summary>
public sealed class ServiceClientTests
{
    [Fact]
    public async Task A_client_of_a_service_with_a_configured_address_calls_that_address()
    {
        await using var callee = await InteropTestServer.StartAsync();
        await using var caller = await InteropTestServer.StartAsync(
            new() { ["Courtyard:Services:interop"] = callee.GrpcAddress.ToString() },
            builder => builder.AddServiceClient<InteropClient>("interop"));
        string callId = Guid.NewGuid().ToString("N");

        var client = caller.Services.GetRequiredService<InteropClient>();
        await client.EchoAsync(new EchoRequest { Text = "hello" }, new Metadata { { "x-call-id", callId } });

        await callee.CallLog.WaitForCallAsync(callId, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Without_an_address_the_service_is_taken_to_run_in_this_process()
    {
        await using var host = await InteropTestServer.StartAsync(configure: builder => builder.AddServiceClient<InteropClient>("interop"));
        string callId = Guid.NewGuid().ToString("N");

        var client = host.Services.GetRequiredService<InteropClient>();
        var reply = await client.EchoAsync(new EchoRequest { Text = "同一进程" }, new Metadata { { "x-call-id", callId } });

        Assert.Equal("同一进程", reply.Text);
        await host.CallLog.WaitForCallAsync(callId, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Inside_a_call_the_callers_token_and_deadline_travel_to_the_next_service()
    {
        await using var callee = await InteropTestServer.StartAsync();
        await using var relay = await InteropTestServer.StartAsync<RelayInteropService>(
            new() { ["Courtyard:Services:interop"] = callee.GrpcAddress.ToString() },
            builder => builder.AddServiceClient<InteropClient>("interop"));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string callId = Guid.NewGuid().ToString("N");

        var reply = await relay.Client.EchoAsync(new EchoRequest { Text = "relayed" },
            new Metadata { { "authorization", "Bearer resident-42" }, { "x-relay-call-id", callId } }, deadline);

        Assert.Equal("relayed", reply.Text);
        Assert.Equal("Bearer resident-42", reply.ReceivedMetadata["authorization"]);
        var seen = await callee.CallLog.WaitForCallAsync(callId, TimeSpan.FromSeconds(5));
        Assert.InRange(seen.Deadline, deadline.AddSeconds(-1), deadline.AddSeconds(1));
    }

    [Fact]
    public async Task Outside_a_call_no_token_is_sent()
    {
        await using var callee = await InteropTestServer.StartAsync();
        await using var caller = await InteropTestServer.StartAsync(
            new() { ["Courtyard:Services:interop"] = callee.GrpcAddress.ToString() },
            builder => builder.AddServiceClient<InteropClient>("interop"));

        var reply = await caller.Services.GetRequiredService<InteropClient>().EchoAsync(new EchoRequest { Text = "background" });

        Assert.False(reply.ReceivedMetadata.ContainsKey("authorization"));
    }

    [Fact]
    public async Task An_address_that_is_not_http_is_refused_with_the_setting_to_fix()
    {
        await using var caller = await InteropTestServer.StartAsync(
            new() { ["Courtyard:Services:interop"] = "councils:5100" },
            builder => builder.AddServiceClient<InteropClient>("interop"));

        var error = Assert.Throws<ServiceStartupException>(() => caller.Services.GetRequiredService<InteropClient>());

        Assert.StartsWith("配置有误：Courtyard:Services:interop \"councils:5100\"", error.Message);
        Assert.Contains("Courtyard__Services__interop", error.Message);
    }

    /// <summary>Answers Echo by asking the configured interop service, tagging the onward call with the caller's x-relay-call-id.</summary>
    public sealed class RelayInteropService(InteropClient next) : global::Courtyard.Interop.V1.Interop.InteropBase
    {
        public override async Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) =>
            await next.EchoAsync(request, new Metadata { { "x-call-id", context.RequestHeaders.GetValue("x-relay-call-id") ?? "" } });
    }
}
