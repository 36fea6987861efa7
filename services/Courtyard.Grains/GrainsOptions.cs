using System.Text.Encodings.Web;
using System.Text.Json;

namespace Courtyard.Grains;

public sealed class GrainsOptions
{
    /// <summary>A call not answered within this time fails with <see cref="TimeoutException"/> (the grain's turn keeps running).</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Activations idle for longer than this are deactivated and released (Orleans' default: 15 minutes).</summary>
    public TimeSpan CollectionAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often idle activations are looked for.</summary>
    public TimeSpan CollectionInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the reminder table is polled for due reminders.</summary>
    public TimeSpan ReminderPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A claimed reminder is re-fired after this long if its process died before finishing the tick.</summary>
    public TimeSpan ReminderLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>At most this many due reminders are claimed per poll.</summary>
    public int ReminderBatchSize { get; set; } = 100;

    /// <summary>Upper bound for one OnDeactivateAsync (it is best effort).</summary>
    public TimeSpan DeactivationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Options of the default state serializer: UTF-8 JSON with non-ASCII text (Chinese) left unescaped.</summary>
    public JsonSerializerOptions JsonSerializerOptions { get; set; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
