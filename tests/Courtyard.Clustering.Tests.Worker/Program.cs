// One process of the clustering tests' service, hosted as every Courtyard service is. Configuration comes from the
// environment (Courtyard__*, ConnectionStrings__clustertest). When it serves, it prints one JSON line:
//   {"grpc":"http://127.0.0.1:N","silo":"127.0.0.1:M","durable":false}
// ("durable": whether the grain storage is Courtyard.Storage's, which keeps state across processes).
using System.Text.Json;
using Courtyard.Authorization;
using Courtyard.Authorization.Access;
using Courtyard.Clustering.Tests.Worker;
using Courtyard.ServiceDefaults;
using Courtyard.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Storage;

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddServiceDefaults("clustertest");
builder.AddServiceStorage("clustertest");
var counter = Courtyard.Clustering.Tests.Worker.Counter.Descriptor;
builder.Services.AddRpcAccess(RpcAccessTable.For(counter).Anonymous([.. counter.Methods.Select(m => m.Name)]).Build());
var app = builder.Build();
app.MapServiceDefaults();
app.MapGrpcService<CounterService>();
await app.StartAsync();

var grainStorage = app.Services.GetRequiredKeyedService<IGrainStorage>("clustertest");
Console.WriteLine(JsonSerializer.Serialize(new
{
    grpc = app.Services.GetRequiredService<ServiceEndpoints>().GrpcAddress.ToString().TrimEnd('/'),
    silo = app.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.Endpoint.ToString(),
    durable = grainStorage is CourtyardGrainStorage,
}));
await app.WaitForShutdownAsync();
