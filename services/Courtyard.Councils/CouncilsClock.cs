namespace Courtyard.Councils;

/// <summary>
/// The time Councils decides by (is the vote past closes_at? is the objection window open?). Its own service rather than
/// the container's TimeProvider, so a test can move the courtyard's time without moving Orleans' own timers.
/// </summary>
public sealed class CouncilsClock(TimeProvider time)
{
    public static readonly CouncilsClock System = new(TimeProvider.System);

    public DateTimeOffset Now => time.GetUtcNow();
}
