using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Courtyard.Grpc.Tests.Server;

public sealed class HealthAndReflectionTests : IAsyncLifetime
{
    private static readonly Method<HealthCheckRequest, HealthCheckResponse> Check = Method.Create<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor, "Health", "Check");
    private static readonly Method<HealthCheckRequest, HealthCheckResponse> Watch = Method.Create<HealthCheckRequest, HealthCheckResponse>(HealthReflection.Descriptor, "Health", "Watch");
    private static readonly Method<ServerReflectionRequest, ServerReflectionResponse> ReflectionV1 =
        Method.Create<ServerReflectionRequest, ServerReflectionResponse>(ReflectionReflection.Descriptor, "ServerReflection", "ServerReflectionInfo");
    private static readonly Method<V1Alpha.ServerReflectionRequest, V1Alpha.ServerReflectionResponse> ReflectionV1Alpha =
        Method.Create<V1Alpha.ServerReflectionRequest, V1Alpha.ServerReflectionResponse>(
            V1Alpha.ReflectionReflection.Descriptor, "ServerReflection", "ServerReflectionInfo");

    private GrpcTestServer _server = null!;

    public async Task InitializeAsync() => _server = await GrpcTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Check_reports_the_server_and_each_service_as_serving()
    {
        var overall = await _server.Channel.UnaryAsync(Check, new HealthCheckRequest());
        var interop = await _server.Channel.UnaryAsync(Check, new HealthCheckRequest { Service = "courtyard.interop.v1.Interop" });

        Assert.Equal(ServingStatus.Serving, overall.Status);
        Assert.Equal(ServingStatus.Serving, interop.Status);
    }

    [Fact]
    public async Task Check_of_an_unknown_service_is_NOT_FOUND()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync(Check, new HealthCheckRequest { Service = "no.such.Service" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Watch_streams_the_current_status_then_each_change()
    {
        const string service = "courtyard.councils.v1.Councils";
        _server.Health.SetStatus(service, ServingStatus.NotServing);
        using var watch = _server.Channel.StartServerStreaming(Watch, new HealthCheckRequest { Service = service },
            new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)));

        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);

        _server.Health.SetStatus(service, ServingStatus.Serving);
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);

        _server.Health.SetStatus(service, ServingStatus.NotServing);
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Watch_of_an_unknown_service_streams_SERVICE_UNKNOWN_and_then_the_status_once_it_is_known()
    {
        const string service = "courtyard.projects.v1.Projects";
        using var watch = _server.Channel.StartServerStreaming(Watch, new HealthCheckRequest { Service = service },
            new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)));

        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.ServiceUnknown, watch.ResponseStream.Current.Status);

        _server.Health.SetStatus(service, ServingStatus.Serving);
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Reflection_v1_lists_services_and_finds_the_file_of_a_symbol()
    {
        using var call = _server.Channel.StartDuplexStreaming(ReflectionV1);

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "*" });
        Assert.True(await call.ResponseStream.MoveNext());
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "courtyard.interop.v1.Interop.Echo" });
        Assert.True(await call.ResponseStream.MoveNext());
        var files = call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto.Select(FileDescriptorProto.Parser.ParseFrom).ToList();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "courtyard.interop.v1.Nope" });
        Assert.True(await call.ResponseStream.MoveNext());
        var error = call.ResponseStream.Current.ErrorResponse;
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());

        Assert.Contains("courtyard.interop.v1.Interop", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Contains("grpc.reflection.v1.ServerReflection", services);
        Assert.Contains("grpc.reflection.v1alpha.ServerReflection", services);
        var interop = files[0];
        Assert.Equal("interop.proto", interop.Name);
        Assert.Equal("Interop", interop.Service.Single().Name);
        Assert.Contains(interop.MessageType, m => m.Name == "EchoRequest");
        Assert.Equal((int)StatusCode.NotFound, error.ErrorCode);
    }

    [Fact]
    public async Task Reflection_returns_a_file_with_its_transitive_dependencies_and_answers_extension_questions()
    {
        using var call = _server.Channel.StartDuplexStreaming(ReflectionV1);

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileByFilename = "grpc/health/v1/health.proto" });
        Assert.True(await call.ResponseStream.MoveNext());
        var health = FileDescriptorProto.Parser.ParseFrom(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto[0]);

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { AllExtensionNumbersOfType = "courtyard.interop.v1.EchoRequest" });
        Assert.True(await call.ResponseStream.MoveNext());
        var numbers = call.ResponseStream.Current.AllExtensionNumbersResponse;

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingExtension = new ExtensionRequest { ContainingType = "courtyard.interop.v1.EchoRequest", ExtensionNumber = 100 } });
        Assert.True(await call.ResponseStream.MoveNext());
        var missingExtension = call.ResponseStream.Current.ErrorResponse;
        await call.RequestStream.CompleteAsync();

        Assert.Equal("grpc.health.v1", health.Package);
        Assert.Equal("courtyard.interop.v1.EchoRequest", numbers.BaseTypeName);
        Assert.Empty(numbers.ExtensionNumber);
        Assert.Equal((int)StatusCode.NotFound, missingExtension.ErrorCode);
    }

    [Fact]
    public void Reflection_includes_dependencies_of_a_file_that_imports_others()
    {
        var dependent = FileDescriptor.BuildFromByteStrings([
            Google.Protobuf.WellKnownTypes.Timestamp.Descriptor.File.SerializedData,
            new FileDescriptorProto
            {
                Name = "courtyard/test/notice.proto", Package = "courtyard.test", Syntax = "proto3", Dependency = { "google/protobuf/timestamp.proto" },
                MessageType = { new DescriptorProto { Name = "Notice", Field = { new FieldDescriptorProto { Name = "posted", Number = 1, Type = FieldDescriptorProto.Types.Type.Message, TypeName = ".google.protobuf.Timestamp", Label = FieldDescriptorProto.Types.Label.Optional } } } },
                Service = { new ServiceDescriptorProto { Name = "Notices" } },
            }.ToByteString(),
        ])[1];
        var registry = new GrpcServiceRegistry();
        registry.Services.Add(new GrpcServiceRegistration(typeof(object), dependent.Services[0], IsSingleton: true));
        var index = new Courtyard.Grpc.Reflection.ReflectionIndex(registry);

        var answer = index.Answer(new ServerReflectionRequest { FileContainingSymbol = "courtyard.test.Notice" });

        var names = answer.FileDescriptorResponse.FileDescriptorProto.Select(b => FileDescriptorProto.Parser.ParseFrom(b).Name).ToList();
        Assert.Equal(["courtyard/test/notice.proto", "google/protobuf/timestamp.proto"], names);
    }

    [Fact]
    public async Task Reflection_v1alpha_answers_like_v1()
    {
        using var call = _server.Channel.StartDuplexStreaming(ReflectionV1Alpha);

        await call.RequestStream.WriteAsync(new V1Alpha.ServerReflectionRequest { Host = "h", FileContainingSymbol = "courtyard.interop.v1.EchoReply" });
        Assert.True(await call.ResponseStream.MoveNext());
        var response = call.ResponseStream.Current;
        await call.RequestStream.CompleteAsync();

        Assert.Equal("h", response.ValidHost);
        Assert.Equal("courtyard.interop.v1.EchoReply", response.OriginalRequest.FileContainingSymbol);
        Assert.Equal("interop.proto", FileDescriptorProto.Parser.ParseFrom(response.FileDescriptorResponse.FileDescriptorProto[0]).Name);
    }
}
