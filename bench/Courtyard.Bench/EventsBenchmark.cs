// PLACEHOLDER written by the lead so the bench exe compiles while the Events engineer works: replace this whole file.
public static class EventsBenchmark
{
    public static Task<int> RunAsync(string[] args) { Console.Error.WriteLine("Events benchmark not written yet"); return Task.FromResult(2); }

}
