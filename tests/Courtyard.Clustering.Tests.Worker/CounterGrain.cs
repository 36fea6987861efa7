using System.Threading.Tasks;
using Orleans;
using Orleans.Runtime;

namespace Courtyard.Clustering.Tests.Worker;

public interface ICounterGrain : IGrainWithStringKey
{
    Task<Increment> Increment();
}

/// <summary>What one increment did, and where.</summary>
[GenerateSerializer, Immutable]
public sealed record Increment([property: Id(0)] long Value, [property: Id(1)] Guid ActivationId, [property: Id(2)] string Silo);

[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)] public long Value { get; set; }
}

/// <summary>A counter written after every increment, as a service writes state that must last (TEAM convention 5).</summary>
[GrainType("clustertest.counter")]
public sealed class CounterGrain([PersistentState("counter", "clustertest")] IPersistentState<CounterState> state, ILocalSiloDetails silo)
    : Grain, ICounterGrain
{
    private readonly Guid _activationId = Guid.NewGuid();

    public async Task<Increment> Increment()
    {
        state.State.Value++;
        await state.WriteStateAsync();
        return new Increment(state.State.Value, _activationId, silo.SiloAddress.Endpoint.ToString());
    }
}
