using System.Net;
using System.Net.Sockets;

namespace Courtyard.Portal.Tests.Support;

/// <summary>
/// A TCP relay between the portal and a service that a test can make misbehave: <see cref="SwallowAnswers"/> still
/// carries requests to the service but drops everything it answers (the connection is lost on the way back);
/// <see cref="Restore"/> closes the connections it holds and relays normally again.
/// </summary>
public sealed class CuttableProxy : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint target;
    private readonly CancellationTokenSource stopping = new();
    private readonly List<TcpClient> connections = [];
    private volatile bool swallowing;

    public CuttableProxy(Uri target)
    {
        this.target = new IPEndPoint(IPAddress.Loopback, target.Port);
        listener.Start();
        _ = AcceptAsync();
    }

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");

    public void SwallowAnswers() => swallowing = true;

    public void Restore()
    {
        swallowing = false;
        lock (connections)
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
            connections.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(target);
            }
            catch (SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }
            lock (connections)
            {
                connections.Add(client);
                connections.Add(server);
            }
            _ = PumpAsync(client, server, answers: false);
            _ = PumpAsync(server, client, answers: true);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool answers)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var source = from.GetStream();
            var destination = to.GetStream();
            int read;
            while ((read = await source.ReadAsync(buffer, stopping.Token)) > 0)
            {
                if (answers && swallowing)
                {
                    continue;
                }
                await destination.WriteAsync(buffer.AsMemory(0, read), stopping.Token);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException or InvalidOperationException)
        {
            // One side closed: the relay ends.
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        stopping.Cancel();
        listener.Stop();
        Restore();
        stopping.Dispose();
        return ValueTask.CompletedTask;
    }
}
