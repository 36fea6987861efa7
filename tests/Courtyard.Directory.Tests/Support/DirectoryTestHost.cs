using Courtyard.Directory.V1;
using Courtyard.Testing.Authorization;
using Courtyard.Testing.Services;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using DirectoryContract = Courtyard.Directory.V1.Directory;

namespace Courtyard.Directory.Tests.Support;

/// <summary>
/// Directory as it runs for real, in-process: its Program's composition (ServiceDefaults, AddDirectory, MapDirectory)
/// on Kestrel's free ports (h2c for gRPC, HTTP/1.1 for the key set), an Orleans silo, its own SQLite file or PostgreSQL
/// database, the in-process event bus, Courtyard authorization, signing key and first admin from configuration. Tests
/// call it through Grpc.Net.Client.
/// </summary>
public sealed class DirectoryTestHost : IAsyncDisposable
{
    public const string AdminLogin = "admin";
    public const string AdminPassword = "admin-password-1";

    private readonly ServiceTestHost host;

    private DirectoryTestHost(ServiceTestHost host, TestTokens tokens)
    {
        this.host = host;
        Tokens = tokens;
    }

    public TestTokens Tokens { get; }
    public TestStorage Storage => host.Storage;
    public Uri GrpcAddress => host.GrpcAddress;
    public Uri HttpAddress => host.HttpAddress;
    public GrpcChannel Channel => host.Channel;
    public IServiceProvider Services => host.Services;
    public IGrainFactory Grains => host.Grains;

    /// <summary>The underlying host: its database, committed events.</summary>
    public ServiceTestHost Host => host;

    public DirectoryContract.DirectoryClient Client() => new(Channel);

    public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    /// <param name="settings">Configuration on top of the defaults below.</param>
    /// <param name="time">Directory's clock (Orleans keeps the real one).</param>
    /// <param name="storage">SQLite (the embedded default) or PostgreSQL.</param>
    /// <param name="dataDir">A data folder the test keeps (and removes) itself; by default a fresh one removed on dispose.</param>
    /// <param name="signingKeyFromConfiguration">False: no configured key, so Directory keeps its key file in the data folder.</param>
    /// <param name="postgresDatabase">A PostgreSQL database the test keeps itself (e.g. across a restart).</param>
    public static async Task<DirectoryTestHost> StartAsync(
        IDictionary<string, string?>? settings = null, TimeProvider? time = null, TestStorage storage = TestStorage.Sqlite,
        string? dataDir = null, bool signingKeyFromConfiguration = true, string? postgresDatabase = null)
    {
        var tokens = new TestTokens("test-key-1");
        var defaults = new Dictionary<string, string?>
        {
            ["Directory:Bootstrap:AdminLogin"] = AdminLogin,
            ["Directory:Bootstrap:AdminPassword"] = AdminPassword,
            ["Directory:SignIn:FirstDelay"] = "00:00:00.050",
            ["Directory:SignIn:MaxDelay"] = "00:00:00.200",
            ["Directory:Throttle:FailuresPerClient"] = "100000",
        };
        if (signingKeyFromConfiguration)
        {
            defaults["Directory:Signing:Keys:0:KeyId"] = tokens.KeyId;
            defaults["Directory:Signing:Keys:0:PrivateKeyPem"] = tokens.PrivateKeyPem;
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            defaults[key] = value;
        }
        var host = await ServiceTestHost.StartAsync(DirectoryOptions.ServiceName,
            builder =>
            {
                if (time is not null)
                {
                    // Directory's clock only: Orleans keeps the real one for its own timers.
                    builder.Services.AddKeyedSingleton(DirectoryOptions.ServiceName, time);
                }
                builder.AddDirectory();
            },
            app => app.MapDirectory(),
            storage, defaults, dataDir,
            postgresDatabases: postgresDatabase is null ? null : new Dictionary<string, string> { [DirectoryOptions.ServiceName] = postgresDatabase });
        return new DirectoryTestHost(host, tokens);
    }

    /// <summary>Every integration event Directory committed so far (its outbox rows), oldest first.</summary>
    public Task<IReadOnlyList<CommittedEvent>> CommittedEventsAsync() => host.CommittedEventsAsync(DirectoryOptions.ServiceName);

    /// <summary>The committed events of one type, parsed.</summary>
    public async Task<IReadOnlyList<T>> CommittedEventsAsync<T>() where T : Google.Protobuf.IMessage<T>, new()
    {
        string type = Courtyard.Events.EventCatalog.Get<T>().Type;
        var parser = new Google.Protobuf.MessageParser<T>(() => new T());
        return (await CommittedEventsAsync()).Where(e => e.EventType == type).Select(e => parser.ParseJson(e.Payload)).ToArray();
    }

    /// <summary>
    /// Waits until every event Directory committed has been delivered: its outbox has nothing unsent (in this process a
    /// row is sent once its subscribers settled). Audit entries, raised with the changes they record, are then in their chains.
    /// </summary>
    public async Task EventsDeliveredAsync()
    {
        var outbox = Services.GetRequiredKeyedService<Courtyard.Events.EventBus>(DirectoryOptions.ServiceName).Storage.Outbox;
        await Courtyard.Testing.Eventually.HoldsAsync(async () => (await outbox.GetStatsAsync()).Unsent == 0, TimeSpan.FromSeconds(30),
            "Directory's events (its audit entries among them) were delivered");
    }

    /// <summary>A chain's audit entries once everything committed so far has reached it.</summary>
    public async Task<ListAuditEntriesResponse> AuditEntriesAsync(string chainId, Metadata headers)
    {
        await EventsDeliveredAsync();
        return await Client().ListAuditEntriesAsync(new ListAuditEntriesRequest { ChainId = chainId, MaxEntries = 1000 }, headers);
    }

    /// <summary>Signs in through the API and returns the access token.</summary>
    public async Task<string> SignInAsync(string login, string password) =>
        (await Client().SignInAsync(new SignInRequest { Login = login, Password = password })).AccessToken;

    public Task<string> SignInAdminAsync() => SignInAsync(AdminLogin, AdminPassword);

    public ValueTask DisposeAsync() => host.DisposeAsync();
}
