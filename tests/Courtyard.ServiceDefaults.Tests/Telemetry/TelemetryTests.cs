using System.Diagnostics;
using System.Net;
using Courtyard.Interop.V1;
using Courtyard.ServiceDefaults.Tests.Grpc;
using Courtyard.ServiceDefaults.Tests.Orleans;
using Courtyard.Events.Hosting;
using Courtyard.Testing;
using OpenTelemetry.Trace;

namespace Courtyard.ServiceDefaults.Tests.Telemetry;

/// <summary>
/// What an operator gets from every service without configuring anything: Prometheus metrics and connected traces.
/// Activity listeners are process-wide, so a tracer in one test would also record the spans of hosts that other tests
/// run beside it: these tests run alone.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryTests
{
    [Fact]
    public async Task Without_a_receiver_no_spans_are_recorded_and_with_an_OTLP_endpoint_they_are()
    {
        await using var quiet = await InteropTestServer.StartAsync();
        await using var exporting = await InteropTestServer.StartAsync(new() { [ServiceTelemetryExtensions.OtlpEndpointVariable] = "http://127.0.0.1:4317" });

        Assert.Null(quiet.Services.GetService(typeof(TracerProvider)));
        Assert.NotNull(exporting.Services.GetService(typeof(TracerProvider)));
    }

    [Fact]
    public async Task Metrics_are_scrapeable_in_Prometheus_format_on_the_HTTP_port()
    {
        await using var host = await InteropTestServer.StartAsync<GrainInteropService>(configure: builder => builder.AddServiceStorage("probe"));
        await host.Client.EchoAsync(new EchoRequest { Text = "count" });
        using var http = new HttpClient();

        string text = "";
        await Eventually.HoldsAsync(async () =>
        {
            using var response = await http.GetAsync(new Uri(host.HttpAddress, "/metrics"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            text = await response.Content.ReadAsStringAsync();
            return text.Contains("http_server_request_duration_seconds_bucket", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(20), "the scrape shows the request duration histogram");

        Assert.Contains("/courtyard.interop.v1.Interop/Echo", text);   // gRPC calls are ASP.NET Core requests, by route
        Assert.Contains("kestrel_", text);
        Assert.Contains("orleans_", text);
        Assert.Contains("dotnet_", text);                                 // runtime: GC, thread pool
    }

    /// <summary>
    /// Issue 7 §4: one trace follows a call from the gRPC handler through the grain to storage and, through the event's
    /// traceparent, into the consumer's handler — the outbox relay publishing in between on its own schedule.
    /// </summary>
    [Fact]
    public async Task A_gRPC_call_its_grain_call_the_durable_write_and_the_handler_of_the_event_it_raised_are_one_trace()
    {
        var spans = new List<Activity>();
        var handled = new TaskCompletionSource<ActivityContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await InteropTestServer.StartAsync<GrainInteropService>(new()
        {
            [ServiceTelemetryExtensions.TracingKey] = "true",
            // The event bus brings EventAdmin, which only signed-in platform admins may call: the host needs a key source.
            ["Courtyard:Authentication:DirectoryAddress"] = "http://127.0.0.1:9",
        }, builder =>
        {
            builder.AddServiceStorage("probe");
            builder.Services.AddEventBus("probe", bus => bus.HandleWithoutStoredEffect<Probe.ProbeCounted>("probe-watcher", (_, _) =>
            {
                handled.TrySetResult(Activity.Current?.Context ?? default);
                return Task.CompletedTask;
            }));
            builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
        });

        await host.Client.EchoAsync(new EchoRequest { Text = "traced" });
        var handler = await handled.Task.WaitAsync(TimeSpan.FromSeconds(20));

        Activity? server = null, grainCall = null, write = null, consumer = null;
        await Eventually.HoldsAsync(() =>
        {
            lock (spans)
            {
                server = spans.FirstOrDefault(s => s.Kind == ActivityKind.Server && s.DisplayName.Contains("Interop/Echo", StringComparison.Ordinal));
                grainCall = spans.FirstOrDefault(s => s.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal)
                    && s.DisplayName.Contains(nameof(IProbeGrain.Increment), StringComparison.Ordinal));
                write = spans.FirstOrDefault(s => s.Source.Name == "Courtyard.Storage");
                consumer = spans.FirstOrDefault(s => s.Source.Name == "Courtyard.Events" && s.Kind == ActivityKind.Consumer);
            }
            return server is not null && grainCall is not null && write is not null && consumer is not null;
        }, TimeSpan.FromSeconds(20), "the exporter received the gRPC, grain call, storage write and consumer spans");

        Assert.Equal(server!.TraceId, grainCall!.TraceId);
        Assert.Equal(server.TraceId, write!.TraceId);
        Assert.Equal(1, write.GetTagItem("courtyard.outbox.rows"));            // the event committed with the state
        Assert.Equal(server.TraceId, consumer!.TraceId);                       // carried by the event's traceparent
        Assert.Equal(server.TraceId, handler.TraceId);                         // and current inside the handler
        Assert.True(consumer.StartTimeUtc >= write.StartTimeUtc + write.Duration, "the handler ran after the commit");
        Assert.Equal("0", server.GetTagItem("grpc.status_code")?.ToString() ?? server.GetTagItem("rpc.grpc.status_code")?.ToString());
    }
}

/// <summary>Runs its tests after every parallel test of the assembly, one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "Telemetry (alone: activity listeners are process-wide)";
}
