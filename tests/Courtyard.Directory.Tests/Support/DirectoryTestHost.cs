using System.Net;
using System.Net.Sockets;
using Courtyard.Directory.V1;
using Courtyard.Testing.Authorization;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using DirectoryContract = Courtyard.Directory.V1.Directory;

namespace Courtyard.Directory.Tests.Support;

/// <summary>Which grain storage the test host runs on. SQLite and PostgreSQL join when Courtyard.Storage's Orleans provider lands.</summary>
public enum TestStorage
{
    Memory,
}

/// <summary>
/// Directory as it runs for real, in-process: a WebApplication on Kestrel (h2c port for gRPC, HTTP/1.1 port for the key
/// set), an Orleans silo with localhost clustering, Courtyard authorization, signing key and first admin from
/// configuration. Tests call it through Grpc.Net.Client.
/// </summary>
public sealed class DirectoryTestHost : IAsyncDisposable
{
    public const string AdminLogin = "admin";
    public const string AdminPassword = "admin-password-1";

    private readonly WebApplication app;
    private readonly string dataDir;

    private readonly bool ownsDataDir;

    private DirectoryTestHost(WebApplication app, TestTokens tokens, string dataDir, bool ownsDataDir, Uri grpc, Uri http)
    {
        this.app = app;
        this.dataDir = dataDir;
        this.ownsDataDir = ownsDataDir;
        Tokens = tokens;
        GrpcAddress = grpc;
        HttpAddress = http;
        Channel = GrpcChannel.ForAddress(grpc);
    }

    public TestTokens Tokens { get; }
    public Uri GrpcAddress { get; }
    public Uri HttpAddress { get; }
    public GrpcChannel Channel { get; }
    public IServiceProvider Services => app.Services;
    public IGrainFactory Grains => app.Services.GetRequiredService<IGrainFactory>();
    public RecordingGrainStorage Storage => (RecordingGrainStorage)app.Services.GetRequiredKeyedService<IGrainStorage>(DirectoryOptions.ServiceName);

    public DirectoryContract.DirectoryClient Client() => new(Channel);

    public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    /// <param name="settings">Configuration on top of the defaults below.</param>
    /// <param name="time">Directory's clock (Orleans keeps the real one).</param>
    /// <param name="dataDir">A data folder the test keeps (and removes) itself; by default a fresh one removed on dispose.</param>
    /// <param name="signingKeyFromConfiguration">False: no configured key, so Directory keeps its key file in the data folder.</param>
    public static async Task<DirectoryTestHost> StartAsync(
        IDictionary<string, string?>? settings = null, TimeProvider? time = null, TestStorage storage = TestStorage.Memory,
        string? dataDir = null, bool signingKeyFromConfiguration = true)
    {
        var tokens = new TestTokens("test-key-1");
        bool ownsDataDir = dataDir is null;
        dataDir ??= Path.Combine(Path.GetTempPath(), "courtyard-directory-tests", Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development });
        var defaults = new Dictionary<string, string?>
        {
            ["Courtyard:DataDir"] = dataDir,
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
        builder.Configuration.AddInMemoryCollection(defaults);
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        ListenOptions? grpcListen = null, httpListen = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                grpcListen = listen;
            });
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                httpListen = listen;
            });
        });
        if (time is not null)
        {
            // Directory's clock only: Orleans keeps the real one for its own timers.
            builder.Services.AddKeyedSingleton(DirectoryOptions.ServiceName, time);
        }
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(FreePort(), FreePort(), serviceId: "directory-tests", clusterId: Guid.NewGuid().ToString("N"));
            ConfigureStorage(silo, storage);
        });
        builder.Services.AddGrpc(grpc => grpc.Interceptors.Add<RefusalInterceptor>());
        builder.AddDirectory();
        var app = builder.Build();
        app.MapDirectory();
        await app.StartAsync();
        return new DirectoryTestHost(app, tokens, dataDir, ownsDataDir,
            new Uri($"http://{grpcListen!.IPEndPoint}"), new Uri($"http://{httpListen!.IPEndPoint}"));
    }

    /// <summary>The "directory" grain storage: the one parameter that differs between storage runs.</summary>
    private static void ConfigureStorage(ISiloBuilder silo, TestStorage storage)
    {
        switch (storage)
        {
            case TestStorage.Memory:
                // Orleans' own binary format ([Id] members only), as our storage will store states; the memory provider's
                // default JSON would also write the pending effects, which are not state.
                silo.AddMemoryGrainStorage("directory-memory", options => options.Configure<Orleans.Serialization.Serializer>(
                    (memory, serializer) => memory.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer)));
                silo.Services.AddKeyedSingleton<IGrainStorage>(DirectoryOptions.ServiceName, (services, _) =>
                    new RecordingGrainStorage(services.GetRequiredKeyedService<IGrainStorage>("directory-memory")));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(storage), storage, null);
        }
    }

    /// <summary>Signs in through the API and returns the access token.</summary>
    public async Task<string> SignInAsync(string login, string password) =>
        (await Client().SignInAsync(new SignInRequest { Login = login, Password = password })).AccessToken;

    public Task<string> SignInAdminAsync() => SignInAsync(AdminLogin, AdminPassword);

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        if (!ownsDataDir)
        {
            return;
        }
        try
        {
            System.IO.Directory.Delete(dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
