using Courtyard.Storage;
using Courtyard.Storage.Sqlite;

namespace Courtyard.Events.Tests.Support;

/// <summary>A service's SQLite database in a fresh temp folder, removed afterwards.</summary>
public sealed class TempDatabase : IAsyncDisposable
{
    private readonly List<IStorageProvider> opened = [];

    public TempDatabase(string name = "service")
    {
        Folder = System.IO.Directory.CreateTempSubdirectory("courtyard-events-").FullName;
        Path = System.IO.Path.Combine(Folder, name + ".db");
    }

    public string Folder { get; }
    public string Path { get; }

    public async Task<IStorageProvider> OpenAsync()
    {
        var provider = await SqliteStorageProvider.OpenAsync(Path);
        opened.Add(provider);
        return provider;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in opened)
        {
            await provider.DisposeAsync();
        }
        try
        {
            System.IO.Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
