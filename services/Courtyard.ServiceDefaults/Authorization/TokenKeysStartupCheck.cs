using Courtyard.Authorization;
using Courtyard.Authorization.Access;
using Courtyard.Authorization.Enforcement;
using Microsoft.Extensions.Hosting;

namespace Courtyard.ServiceDefaults;

/// <summary>
/// Stops a host from starting when it serves an RPC that needs a signed-in caller but has no way to check tokens (no
/// Directory in the process, no <c>Courtyard:Authentication:DirectoryAddress</c>): otherwise every such call would be
/// refused as if nobody had signed in. A host whose every mapped RPC is anonymous needs no keys.
/// </summary>
internal sealed class TokenKeysStartupCheck(IServiceProvider services, RpcAccessRegistry registry) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        var hosted = ServiceHealthChecks.HostedGrpcServices(services).ToHashSet(StringComparer.Ordinal);
        bool servesSignedIn = registry.Rules.Any(rule => rule.Kind != RpcAccessKind.Anonymous && hosted.Contains(rule.Method.Service.FullName));
        if (servesSignedIn && !AuthorizationServiceCollectionExtensions.CanValidateTokens(services))
        {
            throw new ServiceStartupException(AuthorizationServiceCollectionExtensions.MissingTokenKeysMessage);
        }
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
