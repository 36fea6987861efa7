using System.Diagnostics;

namespace Courtyard.Storage;

/// <summary>
/// ActivitySource "Courtyard.Storage": one client span per grain state write and journal append, so a trace shows the
/// durable write between the grain call and the events it published (Npgsql adds its own spans under it on PostgreSQL).
/// </summary>
internal static class StorageTelemetry
{
    public const string Name = "Courtyard.Storage";

    private static readonly ActivitySource Source = new(Name);

    public static Activity? StartWrite(IStorageProvider storage, string operation, string target, int outboxRows)
    {
        if (!Source.HasListeners()) return null;
        var activity = Source.StartActivity($"{operation} {target}", ActivityKind.Client);
        activity?.SetTag("db.system.name", storage is Postgres.PostgresStorageProvider ? "postgresql" : "sqlite");
        activity?.SetTag("db.operation.name", operation);
        activity?.SetTag("courtyard.outbox.rows", outboxRows);
        return activity;
    }
}
