// Directory alone: `dotnet run --project services/Courtyard.Directory` (it also runs inside services/Platform.Host).
// `… -- audit verify --server http://127.0.0.1:5100 --chain cy_… --token …` checks an audit chain instead.
using Courtyard.Directory;
using Courtyard.Directory.Audit;
using Courtyard.ServiceDefaults;

if (args is ["audit", ..])
{
    return await AuditCli.RunAsync(args[1..], Console.Out);
}
var builder = WebApplication.CreateSlimBuilder(args);
builder.AddServiceDefaults(DirectoryOptions.ServiceName);
builder.AddDirectory();
var app = builder.Build();
app.MapServiceDefaults();
app.MapDirectory();
await app.RunAsync();
return 0;
