// A process that hosts the grain runtime on a real database, for the multi-process tests (two writers on one key;
// a reminder that must survive the process being killed).
//   increment <sqlite|postgres> <connection> <key> <count> [startAtUnixMs]   N increments, retrying on version conflicts;
//       prints "done <n> conflicts=<c>"; waits until startAtUnixMs first so that several workers really overlap
//   remind <sqlite|postgres> <connection> <key> <name> <dueSeconds>   registers a one-shot reminder; prints "registered"; waits to be killed
//   serve <sqlite|postgres> <connection>   runs the reminder poller; prints "fired <key> <name> <dueAt> <firedAt>" per reminder
using Courtyard.Grains;
using Courtyard.Grains.Tests.Worker;
using Courtyard.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: worker increment|remind|serve <sqlite|postgres> <connection> ...");
    return 2;
}
var (mode, provider, connection) = (args[0], args[1], args[2]);

var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Services.AddSingleton(await WorkerStorage.OpenAsync(provider, connection));
builder.Services.AddGrains(g =>
{
    g.Add<IWorkerCounterGrain, WorkerCounterGrain>()
     .Add<IWorkerReminderGrain, WorkerReminderGrain>();
    g.Configure(o =>
    {
        o.ReminderPollInterval = TimeSpan.FromMilliseconds(200);
        o.ReminderLease = TimeSpan.FromSeconds(5);
    });
});
using var host = builder.Build();
var grains = host.Services.GetRequiredService<IGrainFactory>();

switch (mode)
{
    case "increment":
    {
        var (key, count) = (args[3], int.Parse(args[4]));
        await grains.GetGrain<IWorkerCounterGrain>(key).Get();   // activated (state loaded) before the start line
        if (args.Length > 5)
        {
            var wait = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(args[5])) - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
        }
        var conflicts = 0;
        for (var i = 0; i < count; i++)
        {
            while (true)
            {
                try
                {
                    await grains.GetGrain<IWorkerCounterGrain>(key).Increment();
                    break;
                }
                catch (InconsistentStateException)
                {
                    conflicts++;   // the activation was dropped: the retry reloads the other process's write
                }
            }
        }
        Console.WriteLine($"done {count} conflicts={conflicts}");
        return 0;
    }
    case "remind":
    {
        await grains.GetGrain<IWorkerReminderGrain>(args[3]).RemindIn(args[4], TimeSpan.FromSeconds(double.Parse(args[5])));
        Console.WriteLine("registered");
        await Task.Delay(Timeout.Infinite);
        return 0;
    }
    case "serve":
    {
        await host.StartAsync();
        Console.WriteLine("serving");
        await host.WaitForShutdownAsync();
        return 0;
    }
    default:
        Console.Error.WriteLine($"unknown mode {mode}");
        return 2;
}
