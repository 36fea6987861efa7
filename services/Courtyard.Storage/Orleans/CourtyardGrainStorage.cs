using System.Globalization;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Courtyard.Storage;

/// <summary>
/// Orleans grain storage over one service's <see cref="IStorageProvider"/>: the row is (state name, grain id), the
/// integer version is the ETag, and the state is serialized with Orleans' own serializer (version-tolerant; members
/// without <c>[Id]</c> are never stored). A state implementing <see cref="IHasPendingEffects"/> has its pending outbox
/// rows and inbox mark committed in the same transaction as the state, and cleared only after the commit.
/// <para>
/// After any failed write the activation is deactivated: the grain changed its in-memory state before writing, so it
/// would otherwise go on ahead of storage. The next call activates it again from what storage holds. That covers a
/// version conflict (Orleans' <see cref="InconsistentStateException"/>), an event already handled
/// (<see cref="InboxMarkAlreadyRecordedException"/>, nothing written), a write whose outcome is unknown
/// (<see cref="StorageOutcomeUnknownException"/>) and any other error.
/// </para>
/// </summary>
public sealed partial class CourtyardGrainStorage(
    string name,
    IStorageProvider storage,
    CourtyardGrainStorageOptions options,
    IActivatorProvider activatorProvider,
    IGrainContextAccessor grainContextAccessor,
    ILogger<CourtyardGrainStorage> logger) : IGrainStorage
{
    private readonly IGrainStorageSerializer serializer = options.GrainStorageSerializer
        ?? throw new ArgumentException("CourtyardGrainStorageOptions.GrainStorageSerializer is not set.", nameof(options));

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var stored = await storage.State.ReadAsync(stateName, grainId.ToString());
        grainState.ETag = stored is null ? null : ETag(stored.Version);
        grainState.RecordExists = stored?.Data is not null;
        grainState.State = stored?.Data is { } data ? serializer.Deserialize<T>(new BinaryData(data)) : activatorProvider.GetActivator<T>().Create();
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var version = await CommitAsync(stateName, grainId, grainState, serializer.Serialize(grainState.State).ToArray());
        grainState.ETag = ETag(version);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var version = await CommitAsync(stateName, grainId, grainState, data: null);
        // A cleared state keeps its row as a tombstone at the new version (a never-written one has none: version 0).
        grainState.ETag = version == 0 ? null : ETag(version);
        grainState.RecordExists = false;
        grainState.State = activatorProvider.GetActivator<T>().Create();
    }

    private async Task<long> CommitAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, byte[]? data)
    {
        var effects = (grainState.State as IHasPendingEffects)?.Effects;
        var carried = effects?.Take() ?? ([], null);
        using var activity = StorageTelemetry.StartWrite(storage, data is null ? "clear" : "write", stateName, carried.Outbox.Count);
        try
        {
            var result = await storage.State.WriteAsync(new StateWrite
            {
                StateType = stateName,
                Key = grainId.ToString(),
                Data = data,
                ExpectedVersion = ParseETag(grainState.ETag),
                Outbox = carried.Outbox,
                Consumes = carried.Consumes,
            });
            if (result.Outcome == WriteOutcome.AlreadyConsumed) throw new InboxMarkAlreadyRecordedException(carried.Consumes!);
            effects?.ClearCommitted(carried);
            return result.NewVersion;
        }
        catch (Exception error)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, error.GetType().Name);
            LogWriteFailed(logger, error, name, stateName, grainId);
            // No exception in the reason: Orleans would answer the calls queued behind this one with it, instead of
            // handing them to a fresh activation.
            grainContextAccessor.GrainContext?.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationError,
                $"The write of state {stateName} failed ({error.GetType().Name}); the activation reloads from storage."));
            throw;
        }
    }

    private static string ETag(long version) => version.ToString(CultureInfo.InvariantCulture);

    private static long ParseETag(string? eTag) => eTag is null ? 0
        : long.TryParse(eTag, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version
        : throw new InconsistentStateException($"ETag '{eTag}' is not a version of this storage.", storedEtag: null, currentEtag: eTag);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Grain storage {Name}: writing {StateName} of {GrainId} failed; the activation is deactivated.")]
    private static partial void LogWriteFailed(ILogger logger, Exception error, string name, string stateName, GrainId grainId);
}
