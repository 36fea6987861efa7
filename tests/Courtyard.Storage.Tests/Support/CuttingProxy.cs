using System.Net;
using System.Net.Sockets;

namespace Courtyard.Storage.Tests.Support;

/// <summary>
/// A TCP proxy in front of the test PostgreSQL that can lose a reply: once armed, the next bytes the server sends on
/// any connection are dropped and that connection is closed both ways. The server has by then processed what the
/// client sent (for a batch: committed it), so the client sees exactly "the connection died before COMMIT's reply".
/// </summary>
internal sealed class CuttingProxy : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly string targetHost;
    private readonly int targetPort;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task accepting;
    private int armed;

    public CuttingProxy(string targetHost, int targetPort)
    {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>How many replies were cut.</summary>
    public int Cuts { get; private set; }

    public void CutNextServerReply() => Volatile.Write(ref armed, 1);

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var server = new TcpClient();
        using (client)
        {
            try
            {
                await server.ConnectAsync(targetHost, targetPort, stopping.Token);
                var toServer = client.GetStream().CopyToAsync(server.GetStream(), stopping.Token);
                var toClient = CopyServerRepliesAsync(server.GetStream(), client.GetStream());
                await Task.WhenAny(toServer, toClient);
            }
            catch (Exception)
            {
                // A cut or a closed side ends the relay of this connection.
            }
        }
    }

    private async Task CopyServerRepliesAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, stopping.Token);
            if (read == 0) return;
            if (Interlocked.Exchange(ref armed, 0) == 1)
            {
                Cuts++;
                return;   // dropped: both sockets are closed by the caller
            }
            await to.WriteAsync(buffer.AsMemory(0, read), stopping.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        await accepting;
        stopping.Dispose();
    }
}
