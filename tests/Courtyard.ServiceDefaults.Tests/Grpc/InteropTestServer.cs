using System.Collections.Concurrent;
using System.Net;
using Courtyard.Authorization;
using Courtyard.Authorization.Access;
using Courtyard.Interop.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Courtyard.ServiceDefaults.Tests.Grpc;

/// <summary>
/// A service host exactly as a Courtyard service builds one — <c>AddServiceDefaults</c> and <c>MapServiceDefaults</c>,
/// both ports free (port 0), a fresh data folder — serving <see cref="InteropService"/>, with a channel to it. What the
/// host logged is kept so tests can check it.
/// </summary>
public sealed class InteropTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDir;

    private InteropTestServer(WebApplication app, string dataDir, CapturingLoggerProvider logs)
    {
        _app = app;
        _dataDir = dataDir;
        Logs = logs;
        var endpoints = app.Services.GetRequiredService<ServiceEndpoints>();
        GrpcAddress = endpoints.GrpcAddress;
        HttpAddress = endpoints.HttpAddress;
        Channel = GrpcChannel.ForAddress(GrpcAddress);
        Client = new global::Courtyard.Interop.V1.Interop.InteropClient(Channel);
    }

    public Uri GrpcAddress { get; }

    public Uri HttpAddress { get; }

    /// <summary>host:port, as grpc-js wants it.</summary>
    public string Target => $"127.0.0.1:{GrpcAddress.Port}";

    public GrpcChannel Channel { get; }

    public global::Courtyard.Interop.V1.Interop.InteropClient Client { get; }

    public CapturingLoggerProvider Logs { get; }

    public IServiceProvider Services => _app.Services;

    public InteropCallLog CallLog => _app.Services.GetRequiredService<InteropCallLog>();

    /// <param name="settings">Configuration on top of the defaults (e.g. <c>Courtyard:Grpc:ResponseCompression</c>).</param>
    /// <param name="configure">More registrations, after AddServiceDefaults.</param>
    /// <param name="map">More endpoints, after MapServiceDefaults.</param>
    public static Task<InteropTestServer> StartAsync(
        Dictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null, Action<WebApplication>? map = null)
        => StartAsync<InteropService>(settings, configure, map);

    /// <summary>The same host serving another implementation of interop.proto (<typeparamref name="TService"/>).</summary>
    public static async Task<InteropTestServer> StartAsync<TService>(
        Dictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null, Action<WebApplication>? map = null)
        where TService : global::Courtyard.Interop.V1.Interop.InteropBase
    {
        string dataDir = Path.Combine(Path.GetTempPath(), "courtyard-servicedefaults-tests", Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Courtyard:GrpcPort"] = "0",
            ["Courtyard:HttpPort"] = "0",
            ["Courtyard:DataDir"] = dataDir,
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.AddServiceDefaults("interop");
        var logs = new CapturingLoggerProvider();
        builder.Logging.AddProvider(logs);
        builder.Services.AddSingleton<InteropCallLog>();
        // The test service is open to anyone; like every service it says so in its access table.
        var interop = global::Courtyard.Interop.V1.Interop.Descriptor;
        builder.Services.AddRpcAccess(RpcAccessTable.For(interop).Anonymous([.. interop.Methods.Select(m => m.Name)]).Build());
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapGrpcService<TService>();
        map?.Invoke(app);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new InteropTestServer(app, dataDir, logs);
    }

    public GrpcChannel CreateChannel(GrpcChannelOptions options) => GrpcChannel.ForAddress(GrpcAddress, options);

    /// <summary>An HttpClient that speaks raw HTTP/2 cleartext to the gRPC port (for hand-made requests).</summary>
    public HttpClient CreateRawHttpClient() => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = GrpcAddress,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>The host's recent warnings and errors, for failure messages.</summary>
    public string LoggedProblems()
    {
        var problems = Logs.Records.Where(r => r.Level >= LogLevel.Warning)
            .Select(r => $"[{r.Level}] {r.Category}: {r.Message} {r.Exception?.GetType().Name} {r.Exception?.Message}").TakeLast(20).ToList();
        return problems.Count == 0 ? "(nothing)" : string.Join(Environment.NewLine, problems);
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}

public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Message, Exception? Exception)> Records { get; } = new();

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => provider.Records.Enqueue((category, logLevel, formatter(state, exception), exception));
    }
}
