using Courtyard.Events.Inbox;
using Courtyard.Events.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Courtyard.Events.Hosting;

/// <summary>
/// courtyard.events.v1.EventAdmin over every event bus of the process: consumers' dead letters (list, replay, delete)
/// and parked events the transport kept refusing (list, release, discard). Mapped by <c>app.MapEventBus()</c>.
/// </summary>
public sealed class EventAdminService(EventBusRegistry registry) : EventAdmin.EventAdminBase
{
    private const int DefaultMax = 100;
    private const int LargestMax = 1000;

    public override async Task<ListDeadLettersResponse> ListDeadLetters(ListDeadLettersRequest request, ServerCallContext context)
    {
        var response = new ListDeadLettersResponse();
        foreach (var bus in Buses(request.Service))
        {
            var letters = await bus.Storage.DeadLetters.ListAsync(string.IsNullOrEmpty(request.Consumer) ? null : request.Consumer, Max(request.Max), context.CancellationToken);
            response.DeadLetters.AddRange(letters.Select(letter => new V1.DeadLetter
            {
                Service = bus.Source,
                Id = letter.Id,
                Consumer = letter.Consumer,
                EventSource = letter.Source,
                EventId = letter.EventId,
                EventType = letter.EventType,
                Topic = letter.Topic,
                CourtyardId = letter.CourtyardId,
                LastError = letter.LastError,
                Attempts = letter.Attempts,
                DeadAt = Timestamp.FromDateTimeOffset(letter.DeadAt),
                CloudEventJson = letter.CloudEventJson,
            }));
        }
        return response;
    }

    public override async Task<ReplayDeadLetterResponse> ReplayDeadLetter(ReplayDeadLetterRequest request, ServerCallContext context)
    {
        var bus = BusFor(request.Service);
        try
        {
            var outcome = await bus.ReplayDeadLetterAsync(request.Id, context.CancellationToken);
            return new ReplayDeadLetterResponse { Handled = outcome == HandleOutcome.Handled };
        }
        catch (KeyNotFoundException)
        {
            throw Refuse(StatusCode.NotFound, $"{bus.Source} 没有编号为 {request.Id} 的死信（已重放或已删除？）",
                $"{bus.Source} has no dead letter {request.Id} (already replayed or deleted?).");
        }
        catch (Exception e) when (e is not OperationCanceledException and not RpcException)
        {
            throw Refuse(StatusCode.FailedPrecondition, $"{bus.Source} 的死信 {request.Id} 重放再次失败，已保留：{e.Message}",
                $"Dead letter {request.Id} of {bus.Source} failed again and was kept: {e.GetType().Name}: {e.Message}");
        }
    }

    public override async Task<DeleteDeadLetterResponse> DeleteDeadLetter(DeleteDeadLetterRequest request, ServerCallContext context)
    {
        var bus = BusFor(request.Service);
        return new DeleteDeadLetterResponse { Deleted = await bus.Storage.DeadLetters.RemoveAsync(request.Id, context.CancellationToken) };
    }

    public override async Task<ListParkedEventsResponse> ListParkedEvents(ListParkedEventsRequest request, ServerCallContext context)
    {
        var response = new ListParkedEventsResponse();
        foreach (var bus in Buses(request.Service))
        {
            var parked = await bus.ListParkedAsync(Max(request.Max), context.CancellationToken);
            response.ParkedEvents.AddRange(parked.Select(row => new ParkedEvent
            {
                Service = bus.Source,
                OutboxId = row.Id,
                EventId = Outbox.EventIds.Format(bus.Source, row.Id),
                EventType = row.EventType,
                Topic = row.Topic,
                CourtyardId = row.CourtyardId,
                Attempts = row.Attempts,
                LastError = row.LastError ?? "",
                CreatedAt = Timestamp.FromDateTimeOffset(row.CreatedAt),
                ParkedAt = row.ParkedAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
                PayloadJson = row.Payload,
            }));
        }
        return response;
    }

    public override async Task<ReleaseParkedEventResponse> ReleaseParkedEvent(ReleaseParkedEventRequest request, ServerCallContext context)
    {
        var bus = BusFor(request.Service);
        return await bus.ReleaseParkedAsync(request.OutboxId, context.CancellationToken)
            ? new ReleaseParkedEventResponse()
            : throw NotParked(bus, request.OutboxId);
    }

    public override async Task<DiscardParkedEventResponse> DiscardParkedEvent(DiscardParkedEventRequest request, ServerCallContext context)
    {
        var bus = BusFor(request.Service);
        return await bus.DiscardParkedAsync(request.OutboxId, context.CancellationToken)
            ? new DiscardParkedEventResponse()
            : throw NotParked(bus, request.OutboxId);
    }

    private static int Max(int requested) => requested <= 0 ? DefaultMax : Math.Min(requested, LargestMax);

    private static RpcException NotParked(EventBus bus, long outboxId) =>
        Refuse(StatusCode.NotFound, $"{bus.Source} 没有暂扣的事件 {outboxId}（已放行、已丢弃或从未暂扣）",
            $"{bus.Source} has no parked event {outboxId} (released, discarded, or never parked).");

    private IReadOnlyList<EventBus> Buses(string service) => string.IsNullOrEmpty(service) ? registry.Buses : [Find(service)];

    private EventBus BusFor(string service)
    {
        if (!string.IsNullOrEmpty(service))
        {
            return Find(service);
        }
        var buses = registry.Buses;
        return buses.Count == 1
            ? buses[0]
            : throw Refuse(StatusCode.InvalidArgument,
                $"本进程承载 {buses.Count} 个事件总线（{string.Join("、", buses.Select(b => b.Source))}），请指明服务",
                $"This process hosts {buses.Count} event buses ({string.Join(", ", buses.Select(b => b.Source))}): name the service.");
    }

    private EventBus Find(string service) =>
        registry.Find(service) ?? throw Refuse(StatusCode.NotFound, $"本进程没有服务“{service}”的事件总线",
            $"No event bus for service \"{service}\" in this process.");

    /// <summary>A refusal a person reads: Chinese first, then English.</summary>
    private static RpcException Refuse(StatusCode code, string chinese, string english) => new(new Status(code, $"{chinese}。{english}"));
}
