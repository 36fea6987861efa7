using Courtyard.Councils;
using Courtyard.Councils.Grpc;
using Courtyard.Councils.Hosting;

// Councils alone. Until the platform's ServiceDefaults lands, the silo here is local and its storage interim (in memory).
var builder = WebApplication.CreateBuilder(args);
builder.UseOrleans(silo => silo.UseLocalhostClustering().AddCouncilsInterimStorage());
builder.Services.AddGrpc(grpc => grpc.Interceptors.Add<RefusalInterceptor>());
builder.AddCouncils();
var app = builder.Build();
app.MapCouncils();
app.Run();
