using Courtyard.Councils.Grpc;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Courtyard.Councils;

/// <summary>How a host runs Councils: alone (Program.cs) or beside the other services in Platform.Host.</summary>
public static class CouncilsExtensions
{
    /// <summary>
    /// The Councils gRPC service, its options and clock. The host provides Orleans (with the "councils" grain storage,
    /// the "councils-journal" log-consistency provider and reminders), authentication, and the refusal interceptor.
    /// </summary>
    public static WebApplicationBuilder AddCouncils(this WebApplicationBuilder builder)
    {
        builder.Services.AddGrpc();
        builder.Services.Configure<CouncilsOptions>(builder.Configuration.GetSection(CouncilsOptions.Section));
        builder.Services.TryAddSingleton(CouncilsClock.System);
        return builder;
    }

    public static WebApplication MapCouncils(this WebApplication app)
    {
        app.MapGrpcService<CouncilsGrpcService>();
        return app;
    }
}
