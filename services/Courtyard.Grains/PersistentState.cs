using Courtyard.Storage;
using Microsoft.Extensions.Logging;

namespace Courtyard.Grains;

/// <summary>
/// A grain's persisted state, loaded before OnActivateAsync. Versioned like an ETag: every write expects the version it
/// read; someone else's write in between fails it with <see cref="InconsistentStateException"/>.
/// </summary>
public interface IPersistentState<TState> where TState : class, new()
{
    TState State { get; set; }

    /// <summary>The stored version this activation last read or wrote; 0 when no row exists.</summary>
    long Version { get; }

    bool RecordExists { get; }

    /// <summary>The ids of the outbox rows committed by the last successful write.</summary>
    IReadOnlyList<long> LastOutboxIds { get; }

    /// <summary>Reloads from storage, discarding in-memory changes and queued outbox messages.</summary>
    Task ReadStateAsync();

    /// <summary>Queues an integration event; it is committed with the next write or clear, in the same transaction.</summary>
    void Publish(OutboxMessage message);

    /// <summary>Writes the state and the queued outbox messages in one transaction.</summary>
    Task WriteStateAsync();

    /// <summary>
    /// Writes the state, the queued outbox messages and <paramref name="consumes"/> in one transaction, unless the mark
    /// was recorded before: then nothing is written, the queued messages are discarded, the state is reloaded (this
    /// call's mutation is gone) and <see cref="WriteOutcome.AlreadyConsumed"/> is returned.
    /// </summary>
    Task<WriteOutcome> WriteStateAsync(InboxMark consumes);

    /// <summary>Deletes the stored row (with the queued outbox messages committed alongside); State becomes a new TState.</summary>
    Task ClearStateAsync();
}

/// <summary>Told about outbox rows right after they commit (e.g. to wake the outbox relay). Register any number in DI.</summary>
public interface IOutboxCommitListener
{
    void OnOutboxCommitted(IReadOnlyList<long> outboxIds);
}

internal interface IStateLoader
{
    Task ReadStateAsync();
}

internal sealed class PersistentState<TState>(string stateName, Activation activation) : IPersistentState<TState>, IStateLoader
    where TState : class, new()
{
    private List<OutboxMessage>? queued;

    public TState State { get; set; } = null!;
    public long Version { get; private set; }
    public bool RecordExists { get; private set; }
    public IReadOnlyList<long> LastOutboxIds { get; private set; } = [];

    public async Task ReadStateAsync()
    {
        queued = null;
        var runtime = activation.Runtime;
        var stored = await runtime.StateStore.ReadAsync(stateName, activation.Key);
        if (stored is null)
        {
            State = new TState();
            Version = 0;
            RecordExists = false;
            return;
        }
        State = runtime.Serializer.Deserialize<TState>(stored.Data);
        Version = stored.Version;
        RecordExists = true;
    }

    public void Publish(OutboxMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        (queued ??= []).Add(message);
    }

    public async Task WriteStateAsync()
    {
        var result = await CommitAsync(activation.Runtime.Serializer.Serialize(State), consumes: null);
        Version = result.NewVersion;
        RecordExists = true;
    }

    public async Task<WriteOutcome> WriteStateAsync(InboxMark consumes)
    {
        ArgumentNullException.ThrowIfNull(consumes);
        var result = await CommitAsync(activation.Runtime.Serializer.Serialize(State), consumes);
        if (result.Outcome == WriteOutcome.AlreadyConsumed)
        {
            await ReadStateAsync();
            return WriteOutcome.AlreadyConsumed;
        }
        Version = result.NewVersion;
        RecordExists = true;
        return WriteOutcome.Committed;
    }

    public async Task ClearStateAsync()
    {
        await CommitAsync(data: null, consumes: null);
        State = new TState();
        Version = 0;
        RecordExists = false;
    }

    private async Task<WriteResult> CommitAsync(byte[]? data, InboxMark? consumes)
    {
        var write = new StateWrite
        {
            StateType = stateName,
            Key = activation.Key,
            Data = data,
            ExpectedVersion = Version,
            Outbox = queued is null ? [] : queued.ToArray(),
            Consumes = consumes,
        };
        queued = null;
        WriteResult result;
        try
        {
            result = await activation.Runtime.StateStore.WriteAsync(write);
        }
        catch
        {
            // Memory no longer matches storage (a conflict, or a write that may or may not have landed): the next call reloads.
            activation.RequestDeactivation(DeactivationReason.WriteFailed);
            throw;
        }
        if (result.Outcome == WriteOutcome.Committed)
        {
            LastOutboxIds = result.OutboxIds;
            if (result.OutboxIds.Count > 0) NotifyListeners(result.OutboxIds);
        }
        return result;
    }

    private void NotifyListeners(IReadOnlyList<long> ids)
    {
        foreach (var listener in activation.Runtime.OutboxListeners)
        {
            try
            {
                listener.OnOutboxCommitted(ids);
            }
            catch (Exception e)
            {
                activation.Runtime.Log.LogWarning(e, "Outbox commit listener {Listener} failed", listener.GetType().Name);
            }
        }
    }
}
