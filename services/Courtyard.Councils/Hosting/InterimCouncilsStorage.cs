using System.Collections.Concurrent;
using Courtyard.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace Courtyard.Councils.Hosting;

/// <summary>
/// INTERIM, until the platform's storage lands (our IGrainStorage, durable reminders and journal on SQLite/PostgreSQL):
/// Orleans' in-memory grain storage and reminders, and Orleans' log-storage journal, wrapped so that a state's pending
/// effects are handled the way our storage will — outbox messages kept after the write commits (here: in
/// <see cref="InterimOutbox"/>), an inbox mark recorded once (a repeat fails the write) — then cleared. Nothing here is
/// durable. Replacing it is one line in the host: <c>AddCouncilsInterimStorage()</c> becomes the platform's storage.
/// </summary>
public static class InterimCouncilsStorage
{
    public static ISiloBuilder AddCouncilsInterimStorage(this ISiloBuilder silo)
    {
        const string memory = CouncilsNames.Storage + "-memory";
        // Orleans' binary serializer, as our storage uses: it writes only [Id] members, so PendingEffects never enters
        // the stored state (the memory provider's default, JSON, would write every public property).
        silo.AddMemoryGrainStorage(memory);
        silo.Services.AddOptions<MemoryGrainStorageOptions>(memory)
            .Configure<IServiceProvider>((options, services) => options.GrainStorageSerializer = new OrleansGrainStorageSerializer(services.GetRequiredService<Orleans.Serialization.Serializer>()));
        silo.Services.AddSingleton<InterimOutbox>();
        silo.Services.AddGrainStorage(CouncilsNames.Storage, (services, _) =>
            new EffectsCommittingStorage(services.GetRequiredKeyedService<IGrainStorage>(memory), services.GetRequiredService<InterimOutbox>()));
        silo.UseInMemoryReminderService();
        silo.AddLogStorageBasedLogConsistencyProvider(CouncilsNames.Journal);
        return silo;
    }
}

/// <summary>The integration events committed so far (interim: what the outbox relay would publish), and the inbox marks recorded.</summary>
public sealed class InterimOutbox
{
    private readonly ConcurrentQueue<OutboxMessage> committed = new();
    private readonly ConcurrentDictionary<InboxMark, bool> consumed = new();

    public IReadOnlyCollection<OutboxMessage> Committed => committed;

    internal void Commit(IEnumerable<OutboxMessage> messages)
    {
        foreach (var message in messages) committed.Enqueue(message);
    }

    internal bool TryConsume(InboxMark mark) => consumed.TryAdd(mark, true);
}

internal sealed class EffectsCommittingStorage(IGrainStorage inner, InterimOutbox outbox) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var effects = (grainState.State as IHasPendingEffects)?.Effects;
        if (effects?.Consumes is { } mark && !outbox.TryConsume(mark))
        {
            effects.Clear();
            throw new Orleans.Storage.InconsistentStateException($"The event {mark.EventId} was handled before; nothing was written.");
        }
        await inner.WriteStateAsync(stateName, grainId, grainState);
        if (effects is null) return;
        outbox.Commit(effects.Outbox);
        effects.Clear();
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
}
