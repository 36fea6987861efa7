namespace Courtyard.Events;

/// <summary>Exponential backoff, capped and jittered: the n-th consecutive failure waits Initial * 2^(n-1), at most Max, times 0.5-1.0.</summary>
public sealed record Backoff(TimeSpan Initial, TimeSpan Max)
{
    public TimeSpan Delay(int consecutiveFailures)
    {
        var exponent = Math.Clamp(consecutiveFailures - 1, 0, 30);
        var capped = Math.Min(Initial.TotalMilliseconds * Math.Pow(2, exponent), Max.TotalMilliseconds);
        // Jitter spreads retries of many courtyards/consumers so they do not hit a recovering broker together.
        return TimeSpan.FromMilliseconds(capped * (0.5 + Random.Shared.NextDouble() * 0.5));
    }
}
