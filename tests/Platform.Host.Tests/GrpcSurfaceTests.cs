using Courtyard.Grpc;
using Courtyard.ServiceDefaults;
using Courtyard.Storage;
using Grpc.Health.V1;
using Grpc.Reflection.V1;
using Platform.Host.Tests.Probe;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.Host.Tests;

/// <summary>What a gRPC client sees of the embedded host: health, reflection, and the platform's error mapping.</summary>
public sealed class GrpcSurfaceTests
{
    private static readonly Method<HealthCheckRequest, HealthCheckResponse> HealthCheck =
        Method.Create<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor, "Health", "Check");

    private static readonly Method<ServerReflectionRequest, ServerReflectionResponse> ReflectionInfo =
        Method.Create<ServerReflectionRequest, ServerReflectionResponse>(ReflectionReflection.Descriptor, "ServerReflection", "ServerReflectionInfo");

    private static readonly Method<TouchRequest, TouchReply> Touch =
        Method.Create<TouchRequest, TouchReply>(ProbeReflection.Descriptor, "Probe", "Touch");

    private static CallOptions Within(int seconds) => new(deadline: DateTime.UtcNow.AddSeconds(seconds));

    [Fact]
    public async Task Health_check_reports_the_host_as_serving()
    {
        await using var host = await RunningHost.StartAsync();

        var overall = await host.Channel.UnaryAsync(HealthCheck, new HealthCheckRequest { Service = "" }, Within(10));
        var health = await host.Channel.UnaryAsync(HealthCheck, new HealthCheckRequest { Service = "grpc.health.v1.Health" }, Within(10));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Fact]
    public async Task Health_check_of_an_unknown_service_is_not_found()
    {
        await using var host = await RunningHost.StartAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Channel.UnaryAsync(HealthCheck, new HealthCheckRequest { Service = "courtyard.nothing.v1.Nothing" }, Within(10)));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Reflection_lists_every_hosted_service()
    {
        await using var host = await RunningHost.StartAsync(AddProbe);

        var names = await ListServicesAsync(host.Channel);

        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1.ServerReflection", names);
        Assert.Contains("grpc.reflection.v1alpha.ServerReflection", names);
        Assert.Contains("courtyard.hosttests.v1.Probe", names);
        Assert.Contains("courtyard.events.v1.EventAdmin", names);
    }

    [Fact]
    public async Task A_conflicting_write_reaches_the_client_as_aborted_with_a_readable_message()
    {
        await using var host = await RunningHost.StartAsync(AddProbe);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Channel.UnaryAsync(Touch, new TouchRequest { Conflict = true }, Within(10)));

        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal("数据刚被其他操作修改，请重试。The record was changed by another request; please retry.", error.Status.Detail);
        Assert.Equal(ServiceDefaultsExtensions.ConcurrencyConflictMessage, error.Status.Detail);
        // The internals of the conflict (state type, key, versions) stay on the server.
        Assert.DoesNotContain("hh_42", error.Status.Detail);
    }

    [Fact]
    public async Task A_successful_call_through_the_same_pipeline_is_unaffected()
    {
        await using var host = await RunningHost.StartAsync(AddProbe);

        var reply = await host.Channel.UnaryAsync(Touch, new TouchRequest { Text = "你好" }, Within(10));

        Assert.Equal("你好", reply.Text);
    }

    private static void AddProbe(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder)
    {
        builder.Services.AddGrpcServer().AddService<ProbeService>(ProbeReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Probe"));
    }

    private static async Task<List<string>> ListServicesAsync(GrpcChannel channel)
    {
        using var call = channel.StartDuplexStreaming(ReflectionInfo, Within(10));
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        var names = new List<string>();
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            names.AddRange(response.ListServicesResponse.Service.Select(s => s.Name));
        }
        return names;
    }

    public sealed class ProbeService
    {
        public Task<TouchReply> Touch(TouchRequest request, ServerCallContext context)
        {
            if (request.Conflict)
            {
                throw new InconsistentStateException("household", "hh_42", expectedVersion: 3, storedVersion: 4);
            }
            return Task.FromResult(new TouchReply { Text = request.Text });
        }
    }
}
