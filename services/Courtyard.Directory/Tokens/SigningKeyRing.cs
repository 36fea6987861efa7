using System.Security.Cryptography;
using System.Text.Json;
using Courtyard.Authorization.Tokens;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Courtyard.Directory.Tokens;

/// <summary>
/// The ES256 keys that sign access tokens. From configuration (<c>Directory:Signing:Keys</c>, the same on every
/// replica): the newest key whose activation time has passed signs, and all are published. Without configured keys
/// (the embedded default) the ring lives in <c>&lt;Courtyard:DataDir&gt;/directory-signing-keys.json</c>: generated
/// once, a new key started every <c>RotationPeriod</c>, a retired key kept published for a day (longer than any access
/// token lives) so tokens it signed stay valid until they expire.
/// </summary>
public sealed class SigningKeyRing : ISigningKeySource
{
    public const string KeyFileName = "directory-signing-keys.json";

    private static readonly TimeSpan RetiredKeyKept = TimeSpan.FromDays(1);

    private readonly Lock gate = new();
    private readonly DirectoryOptions.SigningSettings settings;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly string? keyFile;
    private List<RingKey> keys;

    public SigningKeyRing(IOptions<DirectoryOptions> options, IConfiguration configuration, [FromKeyedServices(DirectoryOptions.ServiceName)] TimeProvider time, ILogger<SigningKeyRing> logger)
    {
        settings = options.Value.Signing;
        this.time = time;
        this.logger = logger;
        if (settings.Keys.Count > 0)
        {
            keys = settings.Keys.Select(FromSettings).OrderBy(k => k.ActivatesAt).ToList();
        }
        else
        {
            string dataDir = Path.GetFullPath(configuration["Courtyard:DataDir"] is { Length: > 0 } dir ? dir : ".data");
            System.IO.Directory.CreateDirectory(dataDir);
            keyFile = Path.Combine(dataDir, KeyFileName);
            keys = Load(keyFile);
            RotateIfDue();
        }
    }

    /// <summary>The key that signs now.</summary>
    public SigningCredentials Current
    {
        get
        {
            lock (gate)
            {
                RotateIfDue();
                var now = time.GetUtcNow();
                var key = keys.LastOrDefault(k => k.ActivatesAt <= now)
                    ?? throw new InvalidOperationException("No signing key is active yet: check Directory:Signing:Keys:*:ActivatesAt.");
                return new SigningCredentials(key.SecurityKey, SecurityAlgorithms.EcdsaSha256);
            }
        }
    }

    public IReadOnlyList<SecurityKey> ValidationKeys
    {
        get
        {
            lock (gate)
            {
                return keys.Select(k => (SecurityKey)k.PublicKey).ToArray();
            }
        }
    }

    /// <summary>The published key set (RFC 7517): public parts only, each with its kid.</summary>
    public object PublishedKeySet()
    {
        lock (gate)
        {
            return new
            {
                keys = keys.Select(k =>
                {
                    var q = k.PublicKey.ECDsa.ExportParameters(false).Q;
                    return new { kty = "EC", crv = "P-256", use = "sig", alg = SecurityAlgorithms.EcdsaSha256, kid = k.Id, x = Base64UrlEncoder.Encode(q.X), y = Base64UrlEncoder.Encode(q.Y) };
                }).ToArray(),
            };
        }
    }

    /// <summary>Starts a new signing key now (the key file only; configured keys rotate by changing configuration).</summary>
    public string Rotate()
    {
        lock (gate)
        {
            if (keyFile is null)
            {
                throw new InvalidOperationException("Signing keys come from configuration (Directory:Signing:Keys): add a key there to rotate.");
            }
            var key = RingKey.Generate(time.GetUtcNow());
            keys.Add(key);
            Save();
            logger.LogInformation("Started signing key {KeyId}.", key.Id);
            return key.Id;
        }
    }

    private void RotateIfDue()
    {
        if (keyFile is null)
        {
            return;
        }
        var now = time.GetUtcNow();
        bool changed = false;
        if (keys.Count == 0 || keys[^1].ActivatesAt + settings.RotationPeriod <= now)
        {
            keys.Add(RingKey.Generate(now));
            changed = true;
        }
        // A key is retired when the next one activates; a day later no token it signed is still valid.
        for (int i = keys.Count - 2; i >= 0; i--)
        {
            if (keys[i + 1].ActivatesAt + RetiredKeyKept < now)
            {
                keys.RemoveAt(i);
                changed = true;
            }
        }
        if (changed)
        {
            Save();
        }
    }

    private void Save()
    {
        var stored = keys.Select(k => new StoredKey(k.Id, k.ExportPem(), k.ActivatesAt)).ToArray();
        string temporary = keyFile + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(stored, new JsonSerializerOptions { WriteIndented = true }));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.Move(temporary, keyFile!, overwrite: true);
    }

    private static List<RingKey> Load(string file)
    {
        if (!File.Exists(file))
        {
            return [];
        }
        var stored = JsonSerializer.Deserialize<StoredKey[]>(File.ReadAllText(file)) ?? [];
        return stored.Select(s => RingKey.Import(s.KeyId, s.PrivateKeyPem, s.ActivatesAt)).OrderBy(k => k.ActivatesAt).ToList();
    }

    private static RingKey FromSettings(DirectoryOptions.SigningKeySettings key)
    {
        if (string.IsNullOrWhiteSpace(key.KeyId) || string.IsNullOrWhiteSpace(key.PrivateKeyPem))
        {
            throw new InvalidOperationException("配置有误：Directory:Signing:Keys 的每一项都需要 KeyId 和 PrivateKeyPem。Configuration error: every Directory:Signing:Keys entry needs KeyId and PrivateKeyPem.");
        }
        return RingKey.Import(key.KeyId, key.PrivateKeyPem, key.ActivatesAt);
    }

    private sealed record StoredKey(string KeyId, string PrivateKeyPem, DateTimeOffset ActivatesAt);

    private sealed class RingKey
    {
        private RingKey(string id, ECDsa key, DateTimeOffset activatesAt)
        {
            Id = id;
            ActivatesAt = activatesAt;
            SecurityKey = new ECDsaSecurityKey(key) { KeyId = id };
            PublicKey = new ECDsaSecurityKey(ECDsa.Create(key.ExportParameters(false))) { KeyId = id };
        }

        public string Id { get; }
        public DateTimeOffset ActivatesAt { get; }
        public ECDsaSecurityKey SecurityKey { get; }
        public ECDsaSecurityKey PublicKey { get; }

        public string ExportPem() => SecurityKey.ECDsa.ExportPkcs8PrivateKeyPem();

        public static RingKey Generate(DateTimeOffset now) =>
            new($"{now:yyyyMMdd}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}", ECDsa.Create(ECCurve.NamedCurves.nistP256), now);

        public static RingKey Import(string id, string pem, DateTimeOffset activatesAt)
        {
            var key = ECDsa.Create();
            key.ImportFromPem(pem);
            if (key.KeySize != 256)
            {
                throw new InvalidOperationException($"配置有误：签名密钥 {id} 不是 P-256 椭圆曲线密钥。Signing key {id} is not an ECDSA P-256 key (ES256 needs P-256).");
            }
            return new RingKey(id, key, activatesAt);
        }
    }
}
