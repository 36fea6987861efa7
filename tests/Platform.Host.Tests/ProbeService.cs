using Courtyard.Authorization;
using Courtyard.Authorization.Access;
using Courtyard.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Orleans;
using Orleans.Runtime;
using Platform.Host.Tests.Probe;

namespace Platform.Host.Tests;

/// <summary>The test service "hosttests", shaped like a real one: Add/Map extensions, a grain, its own storage.</summary>
public static class ProbeServiceExtensions
{
    public static WebApplicationBuilder AddProbe(this WebApplicationBuilder builder)
    {
        builder.AddServiceStorage("hosttests");
        var probe = Probe.Probe.Descriptor;
        builder.Services.AddRpcAccess(RpcAccessTable.For(probe).Anonymous([.. probe.Methods.Select(m => m.Name)]).Build());
        return builder;
    }

    public static WebApplication MapProbe(this WebApplication app)
    {
        app.MapGrpcService<ProbeService>();
        return app;
    }
}

public sealed class ProbeService(IGrainFactory grains) : Probe.Probe.ProbeBase
{
    public override async Task<TouchReply> Touch(TouchRequest request, Grpc.Core.ServerCallContext context) =>
        new() { Touches = await grains.GetGrain<ITouchGrain>(request.CourtyardId).Touch() };
}

public interface ITouchGrain : IGrainWithStringKey
{
    Task<int> Touch();
}

[GenerateSerializer]
public sealed class TouchState
{
    [Id(0)] public int Touches { get; set; }
}

[GrainType("hosttests.touch")]
public sealed class TouchGrain([PersistentState("touch", "hosttests")] IPersistentState<TouchState> state) : Grain, ITouchGrain
{
    public async Task<int> Touch()
    {
        state.State.Touches++;
        await state.WriteStateAsync();
        return state.State.Touches;
    }
}
