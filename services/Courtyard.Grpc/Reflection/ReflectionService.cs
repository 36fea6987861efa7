using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Reflection.V1;

namespace Courtyard.Grpc.Reflection;

/// <summary>
/// The descriptors that server reflection serves: every file of a mapped service and their transitive dependencies,
/// indexed by file name, symbol and extension. Built once.
/// </summary>
internal sealed class ReflectionIndex
{
    private readonly Dictionary<string, FileDescriptor> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileDescriptor> _symbols = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Extendee, int Number), FileDescriptor> _extensions = new();
    private readonly Dictionary<string, List<int>> _extensionNumbers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _messageTypes = new(StringComparer.Ordinal);

    public ReflectionIndex(GrpcServiceRegistry registry)
    {
        var services = registry.Services.Select(s => s.Descriptor)
            .Append(global::Grpc.Health.V1.HealthReflection.Descriptor.Services[0])
            .Append(ReflectionReflection.Descriptor.Services[0])
            .Append(global::Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor.Services[0]);
        var names = new List<string>();
        foreach (var service in services)
        {
            if (!names.Contains(service.FullName))
            {
                names.Add(service.FullName);
            }
            AddFile(service.File);
        }
        ServiceNames = names;
    }

    public IReadOnlyList<string> ServiceNames { get; }

    public ServerReflectionResponse Answer(ServerReflectionRequest request)
    {
        var response = new ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        switch (request.MessageRequestCase)
        {
            case ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                var list = new ListServiceResponse();
                foreach (var name in ServiceNames)
                {
                    list.Service.Add(new ServiceResponse { Name = name });
                }
                response.ListServicesResponse = list;
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                SetFile(response, _files.GetValueOrDefault(request.FileByFilename), $"File '{request.FileByFilename}' not found.");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                SetFile(response, _symbols.GetValueOrDefault(request.FileContainingSymbol), $"Symbol '{request.FileContainingSymbol}' not found.");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingExtension:
                var extension = request.FileContainingExtension;
                SetFile(response, _extensions.GetValueOrDefault((extension.ContainingType, extension.ExtensionNumber)),
                    $"Extension {extension.ExtensionNumber} of '{extension.ContainingType}' not found.");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType:
                string type = request.AllExtensionNumbersOfType;
                if (_messageTypes.Contains(type))
                {
                    var numbers = new ExtensionNumberResponse { BaseTypeName = type };
                    numbers.ExtensionNumber.Add(_extensionNumbers.GetValueOrDefault(type) ?? []);
                    response.AllExtensionNumbersResponse = numbers;
                }
                else
                {
                    SetError(response, StatusCode.NotFound, $"Message type '{type}' not found.");
                }
                break;
            default:
                SetError(response, StatusCode.InvalidArgument, "The reflection request names no known question.");
                break;
        }
        return response;
    }

    private void SetFile(ServerReflectionResponse response, FileDescriptor? file, string notFound)
    {
        if (file is null)
        {
            SetError(response, StatusCode.NotFound, notFound);
            return;
        }
        // The file first, then everything it imports (transitively); clients skip files they already have.
        var answer = new FileDescriptorResponse();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<FileDescriptor>();
        pending.Enqueue(file);
        while (pending.Count > 0)
        {
            var next = pending.Dequeue();
            if (!seen.Add(next.Name))
            {
                continue;
            }
            answer.FileDescriptorProto.Add(next.SerializedData);
            foreach (var dependency in next.Dependencies)
            {
                pending.Enqueue(dependency);
            }
        }
        response.FileDescriptorResponse = answer;
    }

    private static void SetError(ServerReflectionResponse response, StatusCode code, string message)
        => response.ErrorResponse = new ErrorResponse { ErrorCode = (int)code, ErrorMessage = message };

    private void AddFile(FileDescriptor file)
    {
        if (!_files.TryAdd(file.Name, file))
        {
            return;
        }
        foreach (var dependency in file.Dependencies)
        {
            AddFile(dependency);
        }
        foreach (var service in file.Services)
        {
            _symbols.TryAdd(service.FullName, file);
            foreach (var method in service.Methods)
            {
                _symbols.TryAdd(method.FullName, file);
            }
        }
        foreach (var message in file.MessageTypes)
        {
            AddMessage(file, message);
        }
        foreach (var enumType in file.EnumTypes)
        {
            _symbols.TryAdd(enumType.FullName, file);
        }
        foreach (var extension in file.Extensions.UnorderedExtensions)
        {
            AddExtension(file, extension);
        }
    }

    private void AddMessage(FileDescriptor file, MessageDescriptor message)
    {
        _symbols.TryAdd(message.FullName, file);
        _messageTypes.Add(message.FullName);
        foreach (var nested in message.NestedTypes)
        {
            AddMessage(file, nested);
        }
        foreach (var enumType in message.EnumTypes)
        {
            _symbols.TryAdd(enumType.FullName, file);
        }
        foreach (var field in message.Fields.InDeclarationOrder())
        {
            _symbols.TryAdd(field.FullName, file);
        }
        foreach (var extension in message.Extensions.UnorderedExtensions)
        {
            AddExtension(file, extension);
        }
    }

    private void AddExtension(FileDescriptor file, FieldDescriptor extension)
    {
        string extendee = extension.ExtendeeType.FullName;
        _symbols.TryAdd(extension.FullName, file);
        if (_extensions.TryAdd((extendee, extension.FieldNumber), file))
        {
            if (!_extensionNumbers.TryGetValue(extendee, out var numbers))
            {
                _extensionNumbers[extendee] = numbers = new List<int>();
            }
            numbers.Add(extension.FieldNumber);
        }
    }
}

/// <summary>grpc.reflection.v1.ServerReflection.</summary>
internal sealed class ReflectionServiceV1(ReflectionIndex index)
{
    public async Task ServerReflectionInfo(IAsyncStreamReader<ServerReflectionRequest> requests, IServerStreamWriter<ServerReflectionResponse> responses, ServerCallContext context)
    {
        while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            await responses.WriteAsync(index.Answer(requests.Current)).ConfigureAwait(false);
        }
    }
}

/// <summary>grpc.reflection.v1alpha.ServerReflection: the same messages on the wire as v1, so it answers through the v1 code.</summary>
internal sealed class ReflectionServiceV1Alpha(ReflectionIndex index)
{
    public async Task ServerReflectionInfo(IAsyncStreamReader<global::Grpc.Reflection.V1Alpha.ServerReflectionRequest> requests,
        IServerStreamWriter<global::Grpc.Reflection.V1Alpha.ServerReflectionResponse> responses, ServerCallContext context)
    {
        while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var request = ServerReflectionRequest.Parser.ParseFrom(requests.Current.ToByteString());
            var answer = index.Answer(request);
            await responses.WriteAsync(global::Grpc.Reflection.V1Alpha.ServerReflectionResponse.Parser.ParseFrom(answer.ToByteString())).ConfigureAwait(false);
        }
    }
}
