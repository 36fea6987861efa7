using System.Net;
using System.Net.Sockets;

namespace Courtyard.Grpc.Tests.Interop;

/// <summary>
/// A TCP relay on 127.0.0.1 that counts the bytes each way, so a test can tell whether a peer really compressed
/// (the bytes on the wire) rather than trusting a header.
/// </summary>
public sealed class CountingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _relays = new();
    private readonly Task _acceptLoop;
    private long _bytesToServer;
    private long _bytesToClient;

    public CountingProxy(IPEndPoint upstream)
    {
        _upstream = upstream;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public long BytesToServer => Interlocked.Read(ref _bytesToServer);

    public long BytesToClient => Interlocked.Read(ref _bytesToClient);

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
                var server = new TcpClient();
                await server.ConnectAsync(_upstream, _stopping.Token);
                lock (_relays)
                {
                    _relays.Add(RelayAsync(client, server));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task RelayAsync(TcpClient client, TcpClient server)
    {
        using (client)
        using (server)
        {
            var up = CopyAsync(client.GetStream(), server.GetStream(), count => Interlocked.Add(ref _bytesToServer, count));
            var down = CopyAsync(server.GetStream(), client.GetStream(), count => Interlocked.Add(ref _bytesToClient, count));
            await Task.WhenAny(up, down);
        }
    }

    private async Task CopyAsync(NetworkStream from, NetworkStream to, Action<int> counted)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stopping.Token)) > 0)
            {
                counted(read);
                await to.WriteAsync(buffer.AsMemory(0, read), _stopping.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // One side closed: the relay ends.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Stop();
        await _acceptLoop;
        Task[] relays;
        lock (_relays)
        {
            relays = _relays.ToArray();
        }
        await Task.WhenAll(relays);
        _stopping.Dispose();
    }
}
