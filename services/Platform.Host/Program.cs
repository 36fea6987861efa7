// The embedded all-in-one host: every Courtyard service in one process, SQLite files in --data-dir.
//   dotnet run --project services/Platform.Host -- [--grpc-port 5100] [--http-port 5180] [--data-dir ./.data]
return await Platform.Host.HostCommandLine.RunAsync(args, Console.Out, Console.Error);
