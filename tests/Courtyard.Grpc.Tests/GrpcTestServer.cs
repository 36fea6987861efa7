using System.Collections.Concurrent;
using System.Net;
using Courtyard.Interop.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Courtyard.Grpc.Tests;

/// <summary>
/// A real Kestrel server (h2c on 127.0.0.1, dynamic port) serving <see cref="InteropService"/> through Courtyard.Grpc,
/// with a channel to it. Log records are kept so tests can check what the server logged.
/// </summary>
public sealed class GrpcTestServer : IAsyncDisposable
{
    public static readonly Method<EchoRequest, EchoReply> Echo = Method.Create<EchoRequest, EchoReply>(InteropReflection.Descriptor, "Interop", "Echo");
    public static readonly Method<StreamRequest, Chunk> Countdown = Method.Create<StreamRequest, Chunk>(InteropReflection.Descriptor, "Interop", "Countdown");
    public static readonly Method<Chunk, Summary> Collect = Method.Create<Chunk, Summary>(InteropReflection.Descriptor, "Interop", "Collect");
    public static readonly Method<Chunk, Chunk> Chat = Method.Create<Chunk, Chunk>(InteropReflection.Descriptor, "Interop", "Chat");

    private readonly WebApplication _app;

    private GrpcTestServer(WebApplication app, Uri address, CapturingLoggerProvider logs)
    {
        _app = app;
        Address = address;
        Logs = logs;
        Channel = GrpcChannel.ForAddress(address);
    }

    public Uri Address { get; }

    public GrpcChannel Channel { get; }

    public CapturingLoggerProvider Logs { get; }

    public IServiceProvider Services => _app.Services;

    public InteropCallLog CallLog => _app.Services.GetRequiredService<InteropCallLog>();

    public HealthStatusService Health => _app.Services.GetRequiredService<HealthStatusService>();

    public static async Task<GrpcTestServer> StartAsync(Action<GrpcServerOptions>? configure = null, Action<GrpcServerBuilder>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var logs = new CapturingLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenGrpc(IPAddress.Loopback, 0));
        builder.Services.AddSingleton<InteropCallLog>();
        var grpc = builder.Services.AddGrpcServer(configure);
        if (services is not null)
        {
            services(grpc);
        }
        else
        {
            grpc.AddService<InteropService>(InteropService.Descriptor);
        }
        var app = builder.Build();
        app.MapGrpcServices();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new GrpcTestServer(app, new Uri(address.Replace("[::]", "127.0.0.1")), logs);
    }

    public GrpcChannel CreateChannel(GrpcChannelOptions options) => GrpcChannel.ForAddress(Address, options);

    /// <summary>An HttpClient that speaks raw HTTP/2 cleartext to the server (for hand-made requests).</summary>
    public HttpClient CreateRawHttpClient() => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = Address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
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

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => provider.Records.Enqueue((category, logLevel, formatter(state, exception), exception));
    }
}
