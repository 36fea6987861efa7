namespace Courtyard.Storage;

internal static class JournalAppendValidation
{
    public static void Validate(JournalAppend append)
    {
        ArgumentNullException.ThrowIfNull(append);
        ArgumentException.ThrowIfNullOrEmpty(append.Stream, nameof(append.Stream));
        ArgumentOutOfRangeException.ThrowIfNegative(append.ExpectedVersion, nameof(append.ExpectedVersion));
        ArgumentNullException.ThrowIfNull(append.Events, nameof(append.Events));
        if (append.Events.Count == 0) throw new ArgumentException("An append holds at least one event.", nameof(append));
        foreach (var data in append.Events) ArgumentNullException.ThrowIfNull(data, nameof(append.Events));
        ArgumentNullException.ThrowIfNull(append.Outbox, nameof(append.Outbox));
        foreach (var message in append.Outbox) ArgumentNullException.ThrowIfNull(message, nameof(append.Outbox));
    }
}
