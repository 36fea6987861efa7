using Courtyard.Directory.V1;
using Courtyard.Events;
using Courtyard.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Directory.Audit;

/// <summary>
/// How Directory records what its audit log must show: a grain raises the fact with the state change it records
/// (<see cref="RecordAudit"/>, committed in the change's transaction as an outbox row), and Directory's own handler
/// appends it to its chain exactly once (<see cref="HandleAuditFacts"/>: the delivery's inbox mark commits with the
/// append). A crash between the change and its entry loses neither.
/// </summary>
public static class AuditTrail
{
    /// <summary>Directory's consumer of its own audit facts.</summary>
    public const string Consumer = DirectoryOptions.ServiceName;

    /// <summary>Raises <paramref name="fact"/> for <paramref name="chainId"/>: committed with the state's next write.</summary>
    public static void RecordAudit(this IHasPendingEffects state, string chainId, AuditFact fact, DateTimeOffset at)
    {
        var recorded = new AuditFactRecorded
        {
            ChainId = chainId, Kind = fact.Kind, ActorId = fact.ActorId, SubjectId = fact.SubjectId, At = Timestamp.FromDateTimeOffset(at),
        };
        foreach (var (key, value) in fact.Details)
        {
            recorded.Details[key] = value;
        }
        state.Raise(chainId, recorded);
    }

    public static EventBus HandleAuditFacts(this EventBus bus) =>
        bus.Handle<AuditFactRecorded>(Consumer, (recorded, delivery) => delivery.Services.GetRequiredService<IGrainFactory>()
            .GetGrain<IAuditChainGrain>(recorded.ChainId)
            .RecordAsync(new AuditFact(recorded.Kind, recorded.ActorId, recorded.SubjectId, new Dictionary<string, string>(recorded.Details)),
                recorded.At.ToDateTimeOffset(), delivery.TakeMark()));
}
