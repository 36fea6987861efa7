using System.Threading.Tasks;
using Orleans;
using Orleans.Runtime;
using Courtyard.Events;

namespace Courtyard.ServiceDefaults.Tests.Orleans;

/// <summary>A grain of the test service "probe", written the way services write theirs: each count raises ProbeCounted.</summary>
public interface IProbeGrain : IGrainWithStringKey
{
    /// <summary>Counts one more and keeps the count; "refuse" as the note refuses instead, changing nothing.</summary>
    Task<int> Increment(string note);
}

[GenerateSerializer]
public sealed class ProbeState : Courtyard.Storage.IHasPendingEffects
{
    [Id(0)] public int Count { get; set; }

    [field: NonSerialized] public Courtyard.Storage.PendingEffects Effects { get; } = new();
}

[GrainType("probe.counter")]
public sealed class ProbeGrain([PersistentState("counter", "probe")] IPersistentState<ProbeState> state) : Grain, IProbeGrain
{
    public async Task<int> Increment(string note)
    {
        if (note == "refuse")
        {
            throw RequestRefusedException.FailedPrecondition("计数已封存。", "The count is sealed.");
        }
        state.State.Count++;
        state.State.Raise(this.GetPrimaryKeyString(), new Probe.ProbeCounted { Key = this.GetPrimaryKeyString(), Count = state.State.Count });
        await state.WriteStateAsync();
        return state.State.Count;
    }
}

/// <summary>interop.proto's Echo in front of the probe grain: the reply's text is the grain's new count.</summary>
public sealed class GrainInteropService(IGrainFactory grains) : global::Courtyard.Interop.V1.Interop.InteropBase
{
    public override async Task<global::Courtyard.Interop.V1.EchoReply> Echo(global::Courtyard.Interop.V1.EchoRequest request, ServerCallContext context)
    {
        int count = await grains.GetGrain<IProbeGrain>("courtyard-7").Increment(request.Text);
        return new global::Courtyard.Interop.V1.EchoReply { Text = count.ToString(System.Globalization.CultureInfo.InvariantCulture) };
    }
}
