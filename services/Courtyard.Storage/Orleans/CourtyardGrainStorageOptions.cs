using Orleans.Storage;

namespace Courtyard.Storage;

/// <summary>Options of one <see cref="CourtyardGrainStorage"/> (named like the storage, e.g. "councils").</summary>
public sealed class CourtyardGrainStorageOptions
{
    /// <summary>
    /// How state is turned into bytes. Left unset, Orleans' own binary serializer
    /// (<see cref="OrleansGrainStorageSerializer"/>): version-tolerant, and it stores only members marked <c>[Id]</c>.
    /// </summary>
    public IGrainStorageSerializer? GrainStorageSerializer { get; set; }
}
