using Courtyard.Authorization.Access;
using Courtyard.Directory.V1;
using Courtyard.Events.V1;
using Google.Protobuf.Reflection;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// Who may call EventAdmin (dead letters and parked events of every event bus in the process): platform
/// administrators only (<c>platform_admin@*</c>). Replaying or discarding an event changes what every consumer sees,
/// and the events carry residents' data across courtyards, so no courtyard, community or street role is enough, and
/// nobody anonymous. Its requests name a service, not a territory.
/// </summary>
public static class EventAdminAccess
{
    public static RpcAccessTable Table { get; } = Declare();

    private static RpcAccessTable Declare()
    {
        var service = EventAdminReflection.Descriptor.FindTypeByName<ServiceDescriptor>("EventAdmin");
        var table = RpcAccessTable.For(service);
        foreach (var method in service.Methods)
        {
            table.Scoped(method.Name, [Role.PlatformAdmin], "service", ScopeResolvers.NoTerritory);
        }
        return table.Build();
    }
}
