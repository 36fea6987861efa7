using System.Diagnostics;
using Courtyard.Interop.V1;

namespace Courtyard.Grpc.Tests.Server;

public sealed class StartupAndInterceptorTests
{
    [Fact]
    public async Task Startup_fails_naming_the_proto_method_without_a_handler()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            GrpcTestServer.StartAsync(services: grpc => grpc.AddService<IncompleteService>(InteropService.Descriptor)));

        Assert.Contains("courtyard.interop.v1.Interop/Chat", error.Message);
        Assert.Contains("courtyard.interop.v1.Interop/Collect", error.Message);
        Assert.Contains("IAsyncStreamReader<Chunk> requests, IServerStreamWriter<Chunk> responses", error.Message);
        Assert.DoesNotContain("Interop/Echo", error.Message);
    }

    [Fact]
    public async Task Startup_fails_naming_a_handler_whose_signature_does_not_match_the_proto()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            GrpcTestServer.StartAsync(services: grpc => grpc.AddService<MismatchedService>(InteropService.Descriptor)));

        Assert.Contains("courtyard.interop.v1.Interop/Echo", error.Message);
        Assert.Contains("wrong signature", error.Message);
        Assert.Contains("courtyard.interop.v1.Interop/Countdown", error.Message); // unary shape for a server-streaming method
    }

    [Fact]
    public async Task An_interceptor_rejects_with_UNAUTHENTICATED_before_the_handler_runs()
    {
        await using var server = await GrpcTestServer.StartAsync(options => options.Interceptors.Add<RequireToken>());
        var id = Guid.NewGuid().ToString("N");

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest(),
            new CallOptions(new Metadata { { "x-call-id", id } })));
        var reply = await server.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest { Text = "ok" },
            new CallOptions(new Metadata { { "authorization", "Bearer resident-42" } }));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("请先登录 (sign in first)", error.Status.Detail);
        await Assert.ThrowsAsync<TimeoutException>(() => server.CallLog.WaitForCallAsync(id, TimeSpan.FromMilliseconds(200)));
        Assert.Equal("ok", reply.Text);
        Assert.Equal("resident-42", reply.ReceivedMetadata["x-resident"]);
    }

    [Fact]
    public async Task Interceptors_wrap_calls_in_registration_order()
    {
        var order = new List<string>();
        await using var server = await GrpcTestServer.StartAsync(options =>
        {
            options.Interceptors.Add(new Recording("outer", order));
            options.Interceptors.Add(new Recording("inner", order));
        });

        await server.Channel.UnaryAsync(GrpcTestServer.Echo, new EchoRequest());

        Assert.Equal(["outer:before", "inner:before", "inner:after", "outer:after"], order);
    }

    [Fact]
    public async Task Each_call_has_an_activity_with_rpc_tags()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Courtyard.Grpc",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (stopped) { stopped.Add(activity); } },
        };
        ActivitySource.AddActivityListener(listener);
        await using var server = await GrpcTestServer.StartAsync();

        await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(GrpcTestServer.Echo,
            new EchoRequest { Text = "activity-test", FailWith = new StatusRequest { Code = (int)StatusCode.DataLoss } }));

        var deadline = DateTime.UtcNow.AddSeconds(5);
        Activity? serverActivity = null;
        while (serverActivity is null && DateTime.UtcNow < deadline)
        {
            lock (stopped)
            {
                serverActivity = stopped.FirstOrDefault(a => a.Kind == ActivityKind.Server && Equals(a.GetTagItem("rpc.grpc.status_code"), (int)StatusCode.DataLoss));
            }
            await Task.Delay(20);
        }
        Assert.NotNull(serverActivity);
        Assert.Equal("grpc", serverActivity.GetTagItem("rpc.system"));
        Assert.Equal("courtyard.interop.v1.Interop", serverActivity.GetTagItem("rpc.service"));
        Assert.Equal("Echo", serverActivity.GetTagItem("rpc.method"));
        lock (stopped)
        {
            var client = Assert.Single(stopped, a => a.Kind == ActivityKind.Client && Equals(a.GetTagItem("rpc.grpc.status_code"), (int)StatusCode.DataLoss));
            Assert.Equal("Echo", client.GetTagItem("rpc.method"));
            Assert.Equal(client.TraceId, serverActivity.TraceId); // the trace crosses the wire (traceparent)
        }
    }

    /// <summary>Accepts "authorization: Bearer &lt;resident&gt;" and passes the resident on; rejects everything else.</summary>
    private sealed class RequireToken : Interceptor
    {
        public override Task InvokeAsync(ServerCallContext context, ServerCallContinuation next)
        {
            var header = context.RequestHeaders.GetValue("authorization");
            if (header is null || !header.StartsWith("Bearer ", StringComparison.Ordinal))
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "请先登录 (sign in first)"));
            }
            context.RequestHeaders.Add("x-resident", header["Bearer ".Length..]);
            return next(context);
        }
    }

    private sealed class Recording(string name, List<string> order) : Interceptor
    {
        public override async Task InvokeAsync(ServerCallContext context, ServerCallContinuation next)
        {
            order.Add(name + ":before");
            await next(context);
            order.Add(name + ":after");
        }
    }

    public sealed class IncompleteService
    {
        public Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) => Task.FromResult(new EchoReply());

        public Task Countdown(StreamRequest request, IServerStreamWriter<Chunk> responses, ServerCallContext context) => Task.CompletedTask;
    }

    public sealed class MismatchedService
    {
        public Task<EchoReply> Echo(EchoRequest request) => Task.FromResult(new EchoReply());

        public Task<Chunk> Countdown(StreamRequest request, ServerCallContext context) => Task.FromResult(new Chunk());

        public Task<Summary> Collect(IAsyncStreamReader<Chunk> requests, ServerCallContext context) => Task.FromResult(new Summary());

        public Task Chat(IAsyncStreamReader<Chunk> requests, IServerStreamWriter<Chunk> responses, ServerCallContext context) => Task.CompletedTask;
    }
}
