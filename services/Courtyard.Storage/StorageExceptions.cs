using Orleans;
using Orleans.Runtime;
using Orleans.Storage;

namespace Courtyard.Storage;

/// <summary>
/// The connection failed after a write was sent, so it may or may not have committed (the reply to COMMIT was lost).
/// Nothing about the write can be assumed: a caller reloads, and a command carrying a request id resolves it on retry.
/// gRPC callers see UNAVAILABLE. The grain storage deactivates the activation that issued the write.
/// </summary>
[GenerateSerializer]
public sealed class StorageOutcomeUnknownException : OrleansException
{
    public StorageOutcomeUnknownException(string message, Exception? innerException = null) : base(message, innerException!) { }
}

/// <summary>
/// The inbox mark a write consumes was recorded before: the event was already handled, and the write wrote nothing.
/// A grain that gets it has state from before that handling, so (as an <see cref="InconsistentStateException"/>)
/// escaping the grain call makes Orleans drop the activation; the next call reloads. An event handler treats it as
/// "already done" and acknowledges the delivery.
/// </summary>
[GenerateSerializer]
public sealed class InboxMarkAlreadyRecordedException : InconsistentStateException
{
    public InboxMarkAlreadyRecordedException(InboxMark mark)
        : base($"Event {mark.Source}/{mark.EventId} was already handled by {mark.Consumer}; nothing was written.")
    {
        Consumer = mark.Consumer;
        EventSource = mark.Source;
        EventId = mark.EventId;
    }

    [Id(0)] public string Consumer { get; private set; }
    [Id(1)] public string EventSource { get; private set; }
    [Id(2)] public string EventId { get; private set; }
}

/// <summary>Orleans' <see cref="InconsistentStateException"/> for a version mismatch, with the versions as ETags.</summary>
internal static class VersionConflict
{
    public static InconsistentStateException Create(string stateType, string key, long expectedVersion, long? storedVersion) =>
        new($"State {stateType}/{key} changed underneath: expected version {expectedVersion}, stored {(storedVersion?.ToString() ?? "none")}. Nothing was written.",
            storedEtag: storedVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            currentEtag: expectedVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
