// PLACEHOLDER written by the lead so the bench exe compiles while the Grpc engineer works: replace this whole file.
public static class GrpcBenchmark
{
    public static Task<int> RunAsync(string[] args) { Console.Error.WriteLine("Grpc benchmark not written yet"); return Task.FromResult(2); }
    public static Task<int> RunServerAsync(string[] args) => RunAsync(args);
}
