using Courtyard.Testing.Authorization;
using Courtyard.Testing.Services;
using Grpc.Core;

namespace Courtyard.Directory.Tests.Support;

/// <summary>
/// A fresh Directory per test with its first admin signed in and two streets of territory
/// (<see cref="TestTerritory"/>), on the storage the concrete class names: each scenario class is abstract and runs
/// twice, as its nested <c>OnSqlite</c> and <c>OnPostgres</c>. Override <see cref="Settings"/> or <see cref="Time"/> to
/// change the host.
/// </summary>
public abstract class DirectoryScenario(TestStorage storage) : IAsyncLifetime
{
    protected DirectoryTestHost Host { get; private set; } = null!;
    protected MatrixTerritory Territory { get; private set; } = null!;

    /// <summary>The platform admin's access token.</summary>
    protected string Admin { get; private set; } = "";

    protected Metadata AdminHeaders => DirectoryTestHost.Bearer(Admin);

    protected virtual IDictionary<string, string?>? Settings => null;

    /// <summary>Directory's clock (Orleans keeps the real one).</summary>
    protected virtual TimeProvider? Time => null;

    public virtual async Task InitializeAsync()
    {
        Host = await DirectoryTestHost.StartAsync(Settings, Time, storage);
        Admin = await Host.SignInAdminAsync();
        Territory = await TestTerritory.CreateAsync(Host, Admin);
    }

    public virtual async Task DisposeAsync() => await Host.DisposeAsync();
}
