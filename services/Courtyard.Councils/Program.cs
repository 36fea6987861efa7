// Councils alone: `dotnet run --project services/Courtyard.Councils` (it also runs inside services/Platform.Host).
using Courtyard.Councils;
using Courtyard.ServiceDefaults;

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddServiceDefaults(CouncilsNames.Service);
builder.AddCouncils();
var app = builder.Build();
app.MapServiceDefaults();
app.MapCouncils();
await app.RunAsync();
