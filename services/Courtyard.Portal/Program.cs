using Courtyard.Portal;
using Courtyard.ServiceDefaults;

// The portal alone: Directory and Councils at Courtyard:Services:directory / :councils.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("portal");
builder.AddPortal();
var app = builder.Build();
app.MapServiceDefaults();
app.MapPortal();
app.Run();
