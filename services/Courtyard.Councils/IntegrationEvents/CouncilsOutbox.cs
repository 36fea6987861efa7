using Courtyard.Common.V1;
using Courtyard.Councils.Roll;
using Courtyard.Storage;
using Google.Protobuf;

namespace Courtyard.Councils.IntegrationEvents;

/// <summary>
/// Interim stand-in for the events building block's <c>State.Raise(courtyardId, message)</c>, with the same signature:
/// when Courtyard.Events ships it, delete this class and import that namespace instead. Every grain raises its events
/// through these two calls only (see the README's list), so the switch touches nothing else.
/// </summary>
public static class CouncilsOutbox
{
    /// <summary>
    /// Adds the event to the state's pending outbox: it is committed with the state's next write, in the same
    /// transaction, typed and routed by the message's integration_event option.
    /// </summary>
    public static void Raise(this IHasPendingEffects state, string courtyardId, IMessage message)
    {
        var declared = message.Descriptor.GetOptions()?.GetExtension(IntegrationEventExtensions.IntegrationEvent)
            ?? throw new InvalidOperationException($"{message.Descriptor.FullName} is not an integration event: it declares no integration_event option.");
        state.Effects.Publish(new OutboxMessage(courtyardId, declared.Topic, declared.Type, JsonFormatter.Default.Format(message)));
    }

    /// <summary>Records the handled delivery with the state's next write; that write fails, writing nothing, if it was handled before.</summary>
    public static void ConsumeDelivery(this IHasPendingEffects state, DeliveryMark mark) =>
        state.Effects.Consume(new InboxMark(mark.Consumer, mark.Source, mark.EventId));
}
