namespace Courtyard.Councils;

/// <summary>The service's one name and the provider names its grains use.</summary>
public static class CouncilsNames
{
    /// <summary>The service's name: its grain storage, its event source and topic, its grain-type prefix.</summary>
    public const string Service = "councils";

    /// <summary>The grain storage every Councils grain keeps its state in (the service's own database).</summary>
    public const string Storage = Service;

    /// <summary>
    /// The log-consistency provider of the event-sourced grains (ballots, comments). The host registers it: the
    /// platform's journal on our storage in production; Orleans' log-storage provider over in-memory storage in tests.
    /// </summary>
    public const string Journal = "councils-journal";
}
