using System.Collections.Concurrent;
using Courtyard.Storage;
using Orleans.Storage;

namespace Courtyard.Directory.Tests.Support;

/// <summary>
/// The "directory" grain storage of the test host: Orleans' in-memory storage, plus what our storage will do with a
/// state's pending effects — keep its integration events once the write succeeded and clear them — so tests can read
/// the events a change raised. Replaced by Courtyard.Storage's provider (SQLite, PostgreSQL) when it lands.
/// </summary>
public sealed class RecordingGrainStorage(IGrainStorage inner) : IGrainStorage
{
    private readonly ConcurrentQueue<OutboxMessage> published = new();

    public IReadOnlyList<OutboxMessage> Published => published.ToArray();

    public IGrainStorage Inner => inner;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await inner.WriteStateAsync(stateName, grainId, grainState);
        if (grainState.State is IHasPendingEffects effects)
        {
            foreach (var message in effects.Effects.Outbox)
            {
                published.Enqueue(message);
            }
            effects.Effects.Clear();
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
}
