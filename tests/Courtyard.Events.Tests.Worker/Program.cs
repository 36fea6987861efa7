// A process the event bus fault tests start and kill. Modes (all over SQLite + RabbitMQ):
//   produce --db F --rabbit URL --exchange X --count N --courtyards C --relay on|off   commit N events, print "committed N"
//       (relay on: publish them, print "drained"), then run until killed
//   relay   --db F --rabbit URL --exchange X [--lease-s S] [--poll-ms M]                publish what the outbox holds, print "drained";
//       prints "holding" once it holds the relay lease (another relay on the same database may hold it first)
//   consume --db F --rabbit URL --exchange X --consumer C                               apply each ThingHappened once, print "handled <id>"
//   pg-write --pg CS --courtyards N --count M --writers W --seed S                      M PostgreSQL transactions over W connections, each
//       an outbox row of a random courtyard whose commit is delayed at random (some rolled back); prints "wrote <n>" at the end
// Test hook: COURTYARD_TEST_KILL_BEFORE_ACK=1 makes the consumer kill itself right after committing its first effect, before the ack.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Courtyard.Events;
using Courtyard.Events.Testing;
using Courtyard.Events.Transports;
using Courtyard.Storage.Sqlite;

var mode = args.FirstOrDefault() ?? "";
var options = ParseOptions(args.Skip(1).ToArray());
string Option(string name) => options.TryGetValue(name, out var value) ? value : throw new ArgumentException($"missing --{name}");

if (mode == "pg-write")
{
    var written = await SlowPostgresWriters.RunAsync(Option("pg"), int.Parse(Option("courtyards")), int.Parse(Option("count")),
        int.Parse(Option("writers")), int.Parse(Option("seed")), "worker");
    Say($"wrote {written}");
    return 0;
}

await using var storage = await SqliteStorageProvider.OpenAsync(Option("db"));
await using var transport = new RabbitMqTransport(new RabbitMqTransportOptions { Url = Option("rabbit"), Exchange = Option("exchange") });

switch (mode)
{
    case "produce":
    {
        var relayOn = Option("relay") == "on";
        await using var bus = new EventBus(new EventBusOptions { Source = "producer", RelayEnabled = relayOn }, storage, transport);
        await bus.StartAsync();
        var count = int.Parse(Option("count"));
        var courtyards = int.Parse(Option("courtyards"));
        var versions = new long[courtyards];
        for (var p = 0; p < courtyards; p++)
        {
            versions[p] = (await storage.State.ReadAsync("producer", $"courtyard-{p}"))?.Version ?? 0;   // a rerun continues where the last left off
        }
        for (var i = 0; i < count; i++)
        {
            var p = i % courtyards;
            versions[p] = await bus.CommitThingAsync($"courtyard-{p}", i, versions[p]);
        }
        Say($"committed {count}");
        if (relayOn)
        {
            await WaitDrainedAsync(storage);
        }
        await Task.Delay(Timeout.Infinite);
        break;
    }
    case "relay":
    {
        var relayOptions = new EventBusOptions { Source = "producer" };
        if (options.TryGetValue("lease-s", out var leaseSeconds))
        {
            relayOptions.RelayLeaseDuration = TimeSpan.FromSeconds(double.Parse(leaseSeconds, System.Globalization.CultureInfo.InvariantCulture));
        }
        if (options.TryGetValue("poll-ms", out var pollMilliseconds))
        {
            relayOptions.RelayPollInterval = TimeSpan.FromMilliseconds(int.Parse(pollMilliseconds));
        }
        await using var bus = new EventBus(relayOptions, storage, transport);
        await bus.StartAsync();
        while (!bus.Relay.HoldsLease)
        {
            await Task.Delay(20);
        }
        Say("holding");
        await WaitDrainedAsync(storage);
        await Task.Delay(Timeout.Infinite);
        break;
    }
    case "consume":
    {
        var killBeforeAck = Environment.GetEnvironmentVariable("COURTYARD_TEST_KILL_BEFORE_ACK") == "1";
        using var listener = ListenForRepeats();
        await using var bus = new EventBus(new EventBusOptions { Source = "consumer-service", RelayEnabled = false }, storage, transport);
        bus.Handle<ThingHappened>(Option("consumer"), async (thing, delivery) =>
        {
            await TestEvents.ApplyEffectAsync(storage, thing.ThingId, delivery.TakeMark());
            Say($"handled {delivery.Event.Id} attempt={delivery.DeliveryAttempt}");
            if (killBeforeAck)
            {
                Say($"killing-before-ack {delivery.Event.Id}");
                Process.GetCurrentProcess().Kill();
            }
        });
        await bus.StartAsync();
        Say("ready");
        await Task.Delay(Timeout.Infinite);
        break;
    }
    default:
        Console.Error.WriteLine("usage: worker produce|relay|consume --db F --rabbit URL --exchange X ...");
        return 2;
}
return 0;

static void Say(string line)
{
    Console.Out.WriteLine(line);
    Console.Out.Flush();
}

static async Task WaitDrainedAsync(Courtyard.Storage.IStorageProvider storage)
{
    while ((await storage.Outbox.GetStatsAsync()).Unsent > 0)
    {
        await Task.Delay(50);
    }
    Say("drained");
}

static MeterListener ListenForRepeats()
{
    var listener = new MeterListener
    {
        InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EventMetrics.Name && instrument.Name is "courtyard.events.duplicates" or "courtyard.events.redeliveries")
            {
                l.EnableMeasurementEvents(instrument);
            }
        },
    };
    listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Say(instrument.Name == "courtyard.events.duplicates" ? "duplicate" : "redelivery"));
    listener.Start();
    return listener;
}

static Dictionary<string, string> ParseOptions(string[] args)
{
    var result = new Dictionary<string, string>();
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        result[args[i].TrimStart('-')] = args[i + 1];
    }
    return result;
}
