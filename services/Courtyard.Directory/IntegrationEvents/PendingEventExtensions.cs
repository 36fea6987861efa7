using Courtyard.Common.V1;
using Courtyard.Storage;
using Google.Protobuf;

namespace Courtyard.Directory.IntegrationEvents;

/// <summary>
/// Stand-in for Courtyard.Events' <c>State.Raise(subject, event)</c> until it lands: adds the event to the state's
/// pending effects, which the grain storage commits as outbox rows in the same transaction as the state. When the
/// events library provides Raise, delete this file and add <c>using Courtyard.Events;</c> where it is called.
/// </summary>
internal static class PendingEventExtensions
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    public static void Raise(this IHasPendingEffects state, string subject, IMessage integrationEvent)
    {
        var declared = integrationEvent.Descriptor.GetOptions()?.GetExtension(IntegrationEventExtensions.IntegrationEvent)
            ?? throw new InvalidOperationException($"{integrationEvent.Descriptor.FullName} declares no integration_event option.");
        state.Effects.Publish(new OutboxMessage(subject, declared.Topic, declared.Type, Formatter.Format(integrationEvent)));
    }
}
