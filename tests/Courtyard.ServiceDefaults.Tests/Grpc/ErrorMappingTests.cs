using Courtyard.Interop.V1;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Storage;

namespace Courtyard.ServiceDefaults.Tests.Grpc;

/// <summary>
/// What a caller reads when a handler (or a grain behind it) fails: the platform's one interceptor (TEAM convention 4).
/// The grpc-js suite checks refusals and unexpected errors from a foreign client; these check every mapping.
/// </summary>
public sealed class ErrorMappingTests
{
    public static TheoryData<string, StatusCode, string> Mappings => new()
    {
        { "conflict", StatusCode.Aborted, "数据刚被其他操作修改，请重试。The record was changed by another request; please retry." },
        { "silo", StatusCode.Unavailable, "服务暂时不可用，请稍后重试。The service is briefly unavailable; please try again shortly." },
        { "timeout", StatusCode.DeadlineExceeded, "系统繁忙，请稍后重试。The service did not answer in time; please try again shortly." },
        { "refuse", StatusCode.FailedPrecondition, "投票已截止。 Voting has closed." },
    };

    [Theory]
    [MemberData(nameof(Mappings))]
    public async Task A_failure_reaches_the_caller_as_its_status_with_a_message_in_both_languages_and_no_internals(string failure, StatusCode code, string message)
    {
        await using var server = await InteropTestServer.StartAsync<FailingInteropService>();

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.EchoAsync(new EchoRequest { Text = failure }).ResponseAsync);

        Assert.Equal(code, error.StatusCode);
        Assert.Equal(message, error.Status.Detail);
        Assert.DoesNotContain("hh_42", error.Status.Detail);
        Assert.DoesNotContain(server.Logs.Records, r => r.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task An_unexpected_exception_is_INTERNAL_with_a_reference_and_its_stack_only_in_the_log()
    {
        await using var server = await InteropTestServer.StartAsync<FailingInteropService>();

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.EchoAsync(new EchoRequest { Text = "bug" }).ResponseAsync);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.StartsWith("服务器内部错误，请稍后重试。The server failed to handle the request; please try again later.（编号 reference ", error.Status.Detail);
        Assert.DoesNotContain("hunter2", error.Status.Detail);
        var logged = Assert.Single(server.Logs.Records, r => r.Level == LogLevel.Error);
        Assert.Contains("hunter2", logged.Exception!.Message);
        Assert.Contains(nameof(FailingInteropService), logged.Exception.StackTrace);
        Assert.Contains(error.Status.Detail[(error.Status.Detail.LastIndexOf(' ') + 1)..^1], logged.Message);
    }

    [Fact]
    public async Task A_refusal_after_streamed_messages_arrives_after_them()
    {
        await using var server = await InteropTestServer.StartAsync<FailingInteropService>();
        using var call = server.Client.Countdown(new StreamRequest { Count = 2 });
        var received = new List<int>();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync())
            {
                received.Add(chunk.Index);
            }
        });

        Assert.Equal([0, 1], received);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal("名额已满。 The shift is full.", error.Status.Detail);
    }

    [Fact]
    public async Task A_call_its_caller_cancelled_is_not_logged_as_a_failure()
    {
        await using var server = await InteropTestServer.StartAsync();
        string callId = Guid.NewGuid().ToString("N");
        using var cancel = new CancellationTokenSource();

        var call = server.Client.EchoAsync(new EchoRequest { DelayMs = 10_000 }, new Metadata { { "x-call-id", callId } }, cancellationToken: cancel.Token);
        await server.CallLog.WaitForCallAsync(callId, TimeSpan.FromSeconds(10));
        cancel.Cancel();
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        await server.CallLog.WaitForCancellationAsync(callId, TimeSpan.FromSeconds(10));
        await Task.Delay(200);   // the handler's own end, after the cancellation it saw

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.DoesNotContain(server.Logs.Records, r => r.Level >= LogLevel.Warning && r.Category.StartsWith("Courtyard", StringComparison.Ordinal));
    }

    /// <summary>Fails the way a Courtyard service's layers fail, as the request's text says.</summary>
    public sealed class FailingInteropService : global::Courtyard.Interop.V1.Interop.InteropBase
    {
        public override Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) => request.Text switch
        {
            "conflict" => throw new InconsistentStateException("Version conflict writing household hh_42: stored 4, expected 3", "4", "3"),
            "silo" => throw new SiloUnavailableException("Silo S127.0.0.1:11111:1 hh_42 is unavailable"),
            "timeout" => throw new TimeoutException("Response did not arrive on time in 00:00:30 for message hh_42"),
            "refuse" => throw RequestRefusedException.FailedPrecondition("投票已截止。", "Voting has closed."),
            _ => throw new InvalidOperationException("connection string Password=hunter2 is wrong"),
        };

        public override async Task Countdown(StreamRequest request, IServerStreamWriter<Chunk> responseStream, ServerCallContext context)
        {
            for (int index = 0; index < request.Count; index++)
            {
                await responseStream.WriteAsync(new Chunk { Index = index });
            }
            throw new RequestRefusedException(StatusCode.ResourceExhausted, "名额已满。", "The shift is full.");
        }
    }
}
