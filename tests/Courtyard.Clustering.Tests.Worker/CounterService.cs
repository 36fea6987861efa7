using Grpc.Core;
using Orleans;
using Orleans.Runtime;

namespace Courtyard.Clustering.Tests.Worker;

public sealed class CounterService(IGrainFactory grains) : Counter.CounterBase
{
    public override async Task<IncrementReply> Increment(IncrementRequest request, ServerCallContext context)
    {
        var done = await grains.GetGrain<ICounterGrain>(request.Key).Increment();
        return new IncrementReply { Value = done.Value, ActivationId = done.ActivationId.ToString(), Silo = done.Silo };
    }

    public override async Task<MembersReply> Members(MembersRequest request, ServerCallContext context)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        var reply = new MembersReply();
        reply.ActiveSilos.AddRange(hosts.Keys.Select(silo => silo.Endpoint.ToString()).Order(StringComparer.Ordinal));
        return reply;
    }
}
