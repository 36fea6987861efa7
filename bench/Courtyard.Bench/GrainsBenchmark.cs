// PLACEHOLDER written by the lead so the bench exe compiles while the Grains engineer works: replace this whole file.
public static class GrainsBenchmark
{
    public static Task<int> RunAsync(string[] args) { Console.Error.WriteLine("Grains benchmark not written yet"); return Task.FromResult(2); }

}
