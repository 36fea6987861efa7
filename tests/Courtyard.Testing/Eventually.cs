using System.Diagnostics;

namespace Courtyard.Testing;

/// <summary>Waiting for something that happens in the background, with a deadline instead of a sleep.</summary>
public static class Eventually
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test with <paramref name="what"/> once <paramref name="within"/> has passed.</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > within)
            {
                throw new Xunit.Sdk.XunitException($"Not within {within.TotalSeconds:0.#} s: {what}");
            }
            await Task.Delay(PollInterval);
        }
    }

    public static Task HoldsAsync(Func<bool> condition, TimeSpan within, string what) =>
        HoldsAsync(() => Task.FromResult(condition()), within, what);
}
