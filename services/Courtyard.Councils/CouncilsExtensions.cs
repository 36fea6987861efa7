using Courtyard.Authorization;
using Courtyard.Authorization.Enforcement;
using Courtyard.Authorization.Territory;
using Courtyard.Councils.Grpc;
using Courtyard.Councils.IntegrationEvents;
using Courtyard.Councils.Territory;
using Courtyard.Events.Hosting;
using Courtyard.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Courtyard.Councils;

/// <summary>How a host runs Councils: alone (Program.cs) or beside the other services in Platform.Host.</summary>
public static class CouncilsExtensions
{
    /// <summary>
    /// Councils' storage (its own database: grain state, journals of votes and discussions, reminders), its event bus
    /// (the outbox relay of what it publishes, and Directory's membership events into its roll and territory copy),
    /// its access table, its options and clock. The host adds ServiceDefaults first.
    /// </summary>
    public static WebApplicationBuilder AddCouncils(this WebApplicationBuilder builder)
    {
        builder.AddServiceStorage(CouncilsNames.Storage);
        builder.Services.AddEventBus(CouncilsNames.Service, bus => bus.HandleMembershipEvents());
        builder.Services.AddRpcAccess(CouncilsAccess.Table);
        // Directory, when it runs in the same process, registers its own placements (it is the source); else our copy.
        builder.Services.TryAddSingleton<ITerritoryPlacements, CouncilsTerritoryPlacements>();
        builder.Services.Configure<CouncilsOptions>(builder.Configuration.GetSection(CouncilsOptions.Section));
        builder.Services.TryAddSingleton(CouncilsClock.System);
        return builder;
    }

    public static WebApplication MapCouncils(this WebApplication app)
    {
        app.MapGrpcService<CouncilsGrpcService>().RequireRpcAccess(CouncilsAccess.Table);
        return app;
    }
}
