using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Host.Demo;

/// <summary>One demo sign-in: who it is, what it may do, and how to sign in.</summary>
public sealed record DemoAccount(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("role_zh")] string RoleZh,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("login")] string Login,
    [property: JsonPropertyName("password")] string Password,
    [property: JsonPropertyName("account_id")] string AccountId,
    [property: JsonPropertyName("scope_id")] string ScopeId,
    [property: JsonPropertyName("household")] string Household);

/// <summary>A territory node of the demo: its id and name.</summary>
public sealed record DemoPlace([property: JsonPropertyName("id")] string Id, [property: JsonPropertyName("name")] string Name);

/// <summary>
/// DIR/demo-accounts.json: where the demo courtyard is and one account for each role, with its password. Readable by
/// its owner only (mode 600): the passwords are real ones for this installation.
/// </summary>
public sealed record DemoAccounts(
    [property: JsonPropertyName("note")] string Note,
    [property: JsonPropertyName("grpc")] string Grpc,
    [property: JsonPropertyName("http")] string Http,
    [property: JsonPropertyName("street")] DemoPlace Street,
    [property: JsonPropertyName("community")] DemoPlace Community,
    [property: JsonPropertyName("courtyard")] DemoPlace Courtyard,
    [property: JsonPropertyName("accounts")] IReadOnlyList<DemoAccount> Accounts)
{
    public const string FileName = "demo-accounts.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string PathIn(string dataDir) => System.IO.Path.Combine(dataDir, FileName);

    /// <summary>The file an earlier demo run wrote, or null (none, or unreadable: the demo then starts the accounts over).</summary>
    public static DemoAccounts? Read(string dataDir)
    {
        try
        {
            return File.Exists(PathIn(dataDir)) ? JsonSerializer.Deserialize<DemoAccounts>(File.ReadAllText(PathIn(dataDir)), Json) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public async Task WriteAsync(string dataDir)
    {
        string path = PathIn(dataDir);
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(this, Json));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
