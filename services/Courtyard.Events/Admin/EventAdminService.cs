using Courtyard.Events.Inbox;
using Courtyard.Events.V1;
using Courtyard.Grpc;
using Google.Protobuf.WellKnownTypes;

namespace Courtyard.Events.Admin;

/// <summary>
/// courtyard.events.v1.EventAdmin over every event bus of the process: list, replay and delete dead letters.
/// Register with <c>AddGrpcServer().AddEventAdmin()</c>. Stateless; a singleton.
/// </summary>
public sealed class EventAdminService(EventBusRegistry registry)
{
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => EventAdminReflection.Descriptor.Services[0];

    public async Task<ListDeadLettersResponse> ListDeadLetters(ListDeadLettersRequest request, ServerCallContext context)
    {
        var max = request.Max is > 0 and <= 1000 ? request.Max : request.Max > 1000 ? 1000 : 100;
        var buses = string.IsNullOrEmpty(request.Service) ? registry.Buses : [Find(request.Service)];
        var response = new ListDeadLettersResponse();
        foreach (var bus in buses)
        {
            var letters = await bus.Storage.DeadLetters.ListAsync(string.IsNullOrEmpty(request.Consumer) ? null : request.Consumer, max, context.CancellationToken);
            response.DeadLetters.AddRange(letters.Select(letter => new V1.DeadLetter
            {
                Service = bus.Source,
                Id = letter.Id,
                Consumer = letter.Consumer,
                EventSource = letter.Source,
                EventId = letter.EventId,
                EventType = letter.EventType,
                Topic = letter.Topic,
                Partition = letter.Partition,
                LastError = letter.LastError,
                Attempts = letter.Attempts,
                DeadAt = Timestamp.FromDateTimeOffset(letter.DeadAt),
                CloudEventJson = letter.CloudEventJson,
            }));
        }
        return response;
    }

    public async Task<ReplayDeadLetterResponse> ReplayDeadLetter(ReplayDeadLetterRequest request, ServerCallContext context)
    {
        var bus = FindForId(request.Service);
        try
        {
            var outcome = await bus.ReplayDeadLetterAsync(request.Id, context.CancellationToken);
            return new ReplayDeadLetterResponse { Handled = outcome == HandleOutcome.Handled };
        }
        catch (KeyNotFoundException e)
        {
            throw new RpcException(new Status(StatusCode.NotFound, e.Message));
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not RpcException)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"Dead letter {request.Id} of {bus.Source} failed again and was kept: {e.GetType().Name}: {e.Message}"));
        }
    }

    public async Task<DeleteDeadLetterResponse> DeleteDeadLetter(DeleteDeadLetterRequest request, ServerCallContext context)
    {
        var bus = FindForId(request.Service);
        return new DeleteDeadLetterResponse { Deleted = await bus.Storage.DeadLetters.RemoveAsync(request.Id, context.CancellationToken) };
    }

    private EventBus FindForId(string service)
    {
        if (!string.IsNullOrEmpty(service))
        {
            return Find(service);
        }
        var buses = registry.Buses;
        return buses.Count == 1
            ? buses[0]
            : throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"This process hosts {buses.Count} event buses ({string.Join(", ", buses.Select(b => b.Source))}): name the service."));
    }

    private EventBus Find(string service) =>
        registry.Find(service) ?? throw new RpcException(new Status(StatusCode.NotFound, $"No event bus for service \"{service}\" in this process."));
}
