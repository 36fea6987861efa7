namespace Courtyard.Storage;

internal static class StateWriteValidation
{
    /// <summary>Rejects malformed writes before they reach a batch, where they would only cost their neighbours a retry.</summary>
    public static void Validate(StateWrite write)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentException.ThrowIfNullOrEmpty(write.StateType, nameof(write.StateType));
        ArgumentNullException.ThrowIfNull(write.Key, nameof(write.Key));
        ArgumentOutOfRangeException.ThrowIfNegative(write.ExpectedVersion, nameof(write.ExpectedVersion));
        ArgumentNullException.ThrowIfNull(write.Outbox, nameof(write.Outbox));
        foreach (var message in write.Outbox)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(write.Outbox));
        }
    }
}
