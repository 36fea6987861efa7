using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;

namespace Courtyard.Storage;

/// <summary>
/// The silo's reminder table over the services' own databases. Each grain's reminders live in the database of the
/// service its grain type belongs to, found by the type's prefix (<c>councils.vote</c> → the storage named
/// <c>councils</c>); range reads ask every database. In a process with one service's storage it is simply that
/// service's table. Every database answers with its provider's <see cref="IStorageProvider.Reminders"/>.
/// </summary>
public sealed class CourtyardReminderTable(IServiceProvider services, IEnumerable<CourtyardStorageRegistration> registrations) : IReminderTable
{
    private readonly string[] names = registrations.Select(r => r.Name).Distinct(StringComparer.Ordinal).ToArray();

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (names.Length == 0)
            throw new InvalidOperationException("Reminders need a storage: register one with AddCourtyardGrainStorage(name, …) before AddCourtyardReminders().");
        return Task.CompletedTask;   // the databases were opened as the silo started (CourtyardStorageStartup)
    }

    public Task<ReminderTableData> ReadRows(GrainId grainId) => TableOf(grainId).ReadRows(grainId);

    public async Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        var parts = await Task.WhenAll(names.Select(name => Table(name).ReadRows(begin, end)));
        return new ReminderTableData(parts.SelectMany(part => part.Reminders));
    }

    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) => TableOf(grainId).ReadRow(grainId, reminderName);

    public Task<string?> UpsertRow(ReminderEntry entry) => TableOf(entry.GrainId).UpsertRow(entry);

    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag) => TableOf(grainId).RemoveRow(grainId, reminderName, eTag);

    public Task TestOnlyClearTable() => Task.WhenAll(names.Select(name => Table(name).TestOnlyClearTable()));

    /// <summary>The storage a grain's reminders belong to: its grain type's prefix, or the only storage there is.</summary>
    public string StorageOf(GrainId grainId)
    {
        var type = grainId.Type.ToString()!;
        var dot = type.IndexOf('.', StringComparison.Ordinal);
        var prefix = dot > 0 ? type[..dot] : type;
        if (names.Contains(prefix, StringComparer.Ordinal)) return prefix;
        if (names.Length == 1) return names[0];
        throw new InvalidOperationException(
            $"Grain type '{type}' names no registered storage ({string.Join(", ", names)}): pin it as [GrainType(\"<service>.<noun>\")].");
    }

    private IReminderTable TableOf(GrainId grainId) => Table(StorageOf(grainId));

    private IReminderTable Table(string name) => services.GetRequiredKeyedService<IStorageProvider>(name).Reminders;
}

/// <summary>One service's storage, registered in the silo by <see cref="global::Orleans.Hosting.CourtyardStorageSiloBuilderExtensions.AddCourtyardGrainStorage(Microsoft.Extensions.DependencyInjection.IServiceCollection, string, Func{IServiceProvider, IStorageProvider}, Action{CourtyardGrainStorageOptions})"/>.</summary>
public sealed record CourtyardStorageRegistration(string Name);
