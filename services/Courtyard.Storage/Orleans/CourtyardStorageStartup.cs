using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;

namespace Courtyard.Storage;

/// <summary>
/// Opens every registered service storage as the silo starts, before grains, reminders or journals need one: a database
/// that cannot be opened stops the silo at once, and no grain turn ever waits for a connection to be set up. Opening
/// runs on the thread pool, so a factory that blocks on an asynchronous open never blocks an Orleans scheduler.
/// </summary>
internal sealed class CourtyardStorageStartup(IServiceProvider services, IEnumerable<CourtyardStorageRegistration> registrations)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(CourtyardStorageStartup), ServiceLifecycleStage.RuntimeInitialize, OpenAllAsync);

    private Task OpenAllAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(registrations.Select(r => r.Name).Distinct(StringComparer.Ordinal)
            .Select(name => Task.Run(() => services.GetRequiredKeyedService<IStorageProvider>(name), cancellationToken)));
}
