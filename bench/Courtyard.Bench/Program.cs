// The platform's benchmarks, one exe: `dotnet run -c Release --project bench/Courtyard.Bench -- <name> [options]`.
// Each benchmark measures itself against a baseline in the same run and writes bench/results/<name>.json.
return args.FirstOrDefault() switch
{
    "grpc" => await GrpcBenchmark.RunAsync(args[1..]),
    "grpc-server" => await GrpcBenchmark.RunServerAsync(args[1..]),
    "grain-storage" => await GrainStorageBenchmark.RunAsync(args[1..]),
    "events" => await EventsBenchmark.RunAsync(args[1..]),
    "storage" => await StorageBenchmark.RunAsync(args[1..]),
    "directory-import" => await DirectoryImportBenchmark.RunAsync(args[1..]),
    "ballots" => await BallotsBenchmark.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Courtyard.Bench <grpc|grain-storage|events|storage|directory-import|ballots> [options]   (see bench/README.md)");
    return 2;
}
