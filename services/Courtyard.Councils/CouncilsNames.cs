namespace Courtyard.Councils;

/// <summary>The service's one name, and the storage its grains and journals use.</summary>
public static class CouncilsNames
{
    /// <summary>The service's name: its grain storage, its event source and topic, its grain-type prefix.</summary>
    public const string Service = "councils";

    /// <summary>The grain storage every Councils grain keeps its state in (the service's own database).</summary>
    public const string Storage = Service;
}
