using Courtyard.Directory.Accounts;
using Courtyard.Directory.Territory;
using Courtyard.Directory.V1;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Courtyard.Directory;

/// <summary>
/// The first platform admin, from configuration (<c>Directory:Bootstrap:AdminLogin</c> and <c>AdminPassword</c>), so a
/// new installation can be administered at all. Ensured at every start; changes nothing once the account exists.
/// </summary>
internal sealed class DirectoryBootstrap(IGrainFactory grains, IConfiguration configuration, ILogger<DirectoryBootstrap> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var section = configuration.GetSection("Directory:Bootstrap");
        if (section["AdminLogin"] is not { Length: > 0 } login || section["AdminPassword"] is not { Length: > 0 } password)
        {
            return;
        }
        string accountId = await EnsurePlatformAdminAsync(grains, login, password, section["AdminName"] ?? "平台管理员");
        logger.LogInformation("Platform admin account {AccountId} is ready.", accountId);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>An account with this login holding platform admin; created with this password if it does not exist.</summary>
    public static async Task<string> EnsurePlatformAdminAsync(IGrainFactory grains, string login, string password, string name)
    {
        string normalized = Logins.Require(login);
        const string requestId = "bootstrap-platform-admin";
        string accountId = DirectoryIds.Account + "admin" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(normalized)).AsSpan(0, 6));
        string owner = await grains.GetGrain<ILoginGrain>(normalized).ClaimAsync(accountId);
        var account = grains.GetGrain<IAccountGrain>(owner);
        if (!await account.ExistsAsync())
        {
            await account.CreateAsync(new CreateAccountCommand(requestId, normalized, name, Passwords.Hash(password), "bootstrap", DirectoryIds.PlatformChain));
        }
        await grains.GetGrain<ITerritoryNodeGrain>(TerritoryNodeGrain.Root).GrantAsync(new GrantCommand(
            $"{requestId}:{owner}", owner, Role.PlatformAdmin, "", null, "bootstrap"));
        return owner;
    }
}
