namespace Courtyard.Directory;

/// <summary>Directory's settings, bound from the "Directory" configuration section (environment <c>Directory__…</c>).</summary>
public sealed class DirectoryOptions
{
    public const string Section = "Directory";

    /// <summary>The grain storage name, event source and grain-type prefix of this service.</summary>
    public const string ServiceName = "directory";

    public TokenSettings Tokens { get; set; } = new();
    public SigningSettings Signing { get; set; } = new();
    public SignInSettings SignIn { get; set; } = new();
    public InvitationSettings Invitations { get; set; } = new();
    public ThrottleSettings Throttle { get; set; } = new();

    public sealed class TokenSettings
    {
        /// <summary>How long an access token is valid: also how long a revoked role may still work.</summary>
        public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(10);
        public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);
    }

    public sealed class SigningSettings
    {
        /// <summary>
        /// The ES256 keys, from configuration (a secret in Kubernetes), shared by every replica. The newest key whose
        /// <see cref="SigningKeySettings.ActivatesAt"/> has passed signs; all are published, so tokens signed by an older
        /// key stay valid until they expire. Empty: the key file in the data folder (the embedded default).
        /// </summary>
        public List<SigningKeySettings> Keys { get; set; } = [];

        /// <summary>The embedded key file starts a new key after this long; the old one stays published for a day.</summary>
        public TimeSpan RotationPeriod { get; set; } = TimeSpan.FromDays(90);
    }

    public sealed class SigningKeySettings
    {
        /// <summary>The kid in tokens and in the published key set.</summary>
        public string KeyId { get; set; } = "";

        /// <summary>The ECDSA P-256 private key, PEM (PKCS#8 "BEGIN PRIVATE KEY" or SEC1 "BEGIN EC PRIVATE KEY").</summary>
        public string PrivateKeyPem { get; set; } = "";

        public DateTimeOffset ActivatesAt { get; set; } = DateTimeOffset.MinValue;
    }

    public sealed class SignInSettings
    {
        /// <summary>Consecutive failures answered at once; each later one waits longer (doubling from <see cref="FirstDelay"/>).</summary>
        public int FreeFailures { get; set; } = 3;
        public TimeSpan FirstDelay { get; set; } = TimeSpan.FromSeconds(1);
        public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(8);

        /// <summary>After this many consecutive failures the account refuses every attempt for <see cref="LockoutDuration"/>.</summary>
        public int LockAfterFailures { get; set; } = 10;
        public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);
    }

    public sealed class InvitationSettings
    {
        public int DefaultValidDays { get; set; } = 30;
        public int MaxValidDays { get; set; } = 90;

        /// <summary>What the QR code on a slip holds; <c>{code}</c> is replaced by the code. The portal sets its join page.</summary>
        public string RedeemUrl { get; set; } = "{code}";
    }

    public sealed class ThrottleSettings
    {
        /// <summary>Failed redemptions and sign-ins one client address may make at once before it must wait…</summary>
        public int FailuresPerClient { get; set; } = 10;

        /// <summary>…and how many more it may make per minute after that.</summary>
        public int FailuresPerMinute { get; set; } = 2;
    }
}
