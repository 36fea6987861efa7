using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Courtyard.Events;
using Courtyard.Events.Testing;
using Courtyard.Events.Transports;
using Courtyard.Storage;
using Courtyard.Testing;
using Courtyard.Storage.Sqlite;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

/// <summary>
/// Integration events end to end, in one run: commit (state + outbox row, SQLite) -> relay -> transport -> consumer
/// handler whose effect is a state write carrying the inbox mark (SQLite) — over the in-process transport and over
/// RabbitMQ — against raw RabbitMQ.Client publish -> consume (persistent, confirms awaited per 100, manual acks).
/// Throughput = events / (first commit .. last effect). Latency = effect committed - event committed, measured at a
/// fixed offered rate of half the measured maximum.
/// Also the relay alone: a backlog of outbox rows drained to RabbitMQ (nobody consuming), its rate and CPU per row.
/// Options: --events 20000 --latency-s 8 --courtyards 256 --rabbit URL --out bench/results/events.json
/// </summary>
public static class EventsBenchmark
{
    private sealed record Throughput(int Events, double Seconds, double PerSecond);

    private sealed record Latency(double OfferedPerSecond, int Events, double AchievedPerSecond, double P50Ms, double P99Ms, double MaxMs);

    public static async Task<int> RunAsync(string[] args)
    {
        var options = ParseOptions(args);
        var events = int.Parse(options.GetValueOrDefault("events", "20000"));
        var latencySeconds = double.Parse(options.GetValueOrDefault("latency-s", "8"), System.Globalization.CultureInfo.InvariantCulture);
        var courtyards = int.Parse(options.GetValueOrDefault("courtyards", "256"));
        var root = RepositoryRoot.Path;
        var output = options.GetValueOrDefault("out", Path.Combine(root, "bench", "results", "events.json"));
        var url = options.GetValueOrDefault("rabbit") ?? Environment.GetEnvironmentVariable("COURTYARD_TEST_RABBITMQ") ?? await StartRabbitMqAsync(root);
        var machine = BenchMachine.Describe();

        Console.WriteLine($"events benchmark: {events} events, {courtyards} courtyards, latency phase {latencySeconds} s, RabbitMQ {url}");
        var raw = await RawRabbitMqAsync(url, events);
        Console.WriteLine($"raw RabbitMQ.Client        {raw.PerSecond,8:0} msg/s");

        var inProcess = await CourtyardAsync("in-process", () => new InProcessTransport(), events, courtyards, latencySeconds);
        // Producer and consumer each get their own connection, as two services would.
        var exchange = $"bench.events.{Guid.NewGuid():N}";
        var overRabbit = await CourtyardAsync("RabbitMQ", () => new RabbitMqTransport(new RabbitMqTransportOptions { Url = url, Exchange = exchange }),
            events, courtyards, latencySeconds, sharedTransport: false);

        var relayDrain = await RelayDrainAsync(url, events, courtyards);
        Console.WriteLine($"relay alone -> RabbitMQ    {relayDrain.PerSecond,8:0} rows/s ({relayDrain.CpuMicrosecondsPerRow:0} us CPU per row)");

        var targets = new JsonObject
        {
            ["rabbitMqEventsPerSecondAtLeast5000"] = overRabbit.Max.PerSecond >= 5000,
            ["rabbitMqP99AtHalfRateAtMost50Ms"] = overRabbit.Latency.P99Ms <= 50,
            ["rabbitMqAtLeastHalfOfRaw"] = overRabbit.Max.PerSecond >= 0.5 * raw.PerSecond,
        };
        var result = new JsonObject
        {
            ["benchmark"] = "events",
            ["date"] = DateTimeOffset.UtcNow.ToString("O"),
            ["machine"] = JsonSerializer.SerializeToNode(machine),
            ["events"] = events,
            ["courtyards"] = courtyards,
            ["rawRabbitMq"] = JsonSerializer.SerializeToNode(raw),
            ["inProcess"] = new JsonObject { ["max"] = JsonSerializer.SerializeToNode(inProcess.Max), ["atHalfRate"] = JsonSerializer.SerializeToNode(inProcess.Latency) },
            ["rabbitMq"] = new JsonObject
            {
                ["max"] = JsonSerializer.SerializeToNode(overRabbit.Max),
                ["atHalfRate"] = JsonSerializer.SerializeToNode(overRabbit.Latency),
                ["fractionOfRaw"] = Math.Round(overRabbit.Max.PerSecond / raw.PerSecond, 3),
            },
            ["relayDrainRabbitMq"] = JsonSerializer.SerializeToNode(relayDrain),
            ["targets"] = targets,
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        await WriteReadmeSectionAsync(Path.Combine(root, "bench", "README.md"), raw, inProcess, overRabbit, relayDrain, machine);
        Console.WriteLine($"targets: {targets.ToJsonString()}");
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    /// <summary>Raw client: persistent messages to a durable queue, confirms awaited per 100, a consumer acking each.</summary>
    private static async Task<Throughput> RawRabbitMqAsync(string url, int count)
    {
        var factory = new ConnectionFactory { Uri = new Uri(url) };
        await using var publisherConnection = await factory.CreateConnectionAsync();
        await using var consumerConnection = await factory.CreateConnectionAsync();
        await using var publisher = await publisherConnection.CreateChannelAsync(new CreateChannelOptions(true, true, outstandingPublisherConfirmationsRateLimiter: null));
        await using var consumer = await consumerConnection.CreateChannelAsync();
        var queue = $"bench.raw.{Guid.NewGuid():N}";
        // A quorum queue, as the transport declares: the same replication cost on both sides of the comparison.
        await publisher.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
            new Dictionary<string, object?> { ["x-queue-type"] = "quorum" });
        await consumer.BasicQosAsync(0, 512, false);

        var received = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var basicConsumer = new AsyncEventingBasicConsumer(consumer);
        basicConsumer.ReceivedAsync += async (_, e) =>
        {
            await consumer.BasicAckAsync(e.DeliveryTag, false);
            if (Interlocked.Increment(ref received) == count)
            {
                done.TrySetResult();
            }
        };
        await consumer.BasicConsumeAsync(queue, autoAck: false, basicConsumer);

        var body = Encoding.UTF8.GetBytes(new string('x', 420));   // about the size of a CloudEvent envelope
        var properties = new BasicProperties { Persistent = true, ContentType = "application/cloudevents+json" };
        var clock = Stopwatch.StartNew();
        var batch = new List<Task>(100);
        for (var i = 0; i < count; i++)
        {
            batch.Add(publisher.BasicPublishAsync("", queue, false, properties, body).AsTask());
            if (batch.Count == 100 || i == count - 1)
            {
                await Task.WhenAll(batch);
                batch.Clear();
            }
        }
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        var seconds = clock.Elapsed.TotalSeconds;
        await publisher.QueueDeleteAsync(queue);
        return new Throughput(count, Math.Round(seconds, 2), Math.Round(count / seconds));
    }

    private sealed record CourtyardResult(Throughput Max, Latency Latency);

    private sealed record RelayDrain(int Rows, double Seconds, double PerSecond, double CpuMicrosecondsPerRow);

    /// <summary>The outbox relay alone: <paramref name="rows"/> unsent rows over the courtyards, drained to RabbitMQ (a consumer's queue, nobody consuming).</summary>
    private static async Task<RelayDrain> RelayDrainAsync(string url, int rows, int courtyards)
    {
        var folder = Directory.CreateTempSubdirectory("courtyard-bench-relay-").FullName;
        var options = new RabbitMqTransportOptions { Url = url, Exchange = $"bench.relay.{Guid.NewGuid():N}" };
        try
        {
            await using var storage = await SqliteStorageProvider.OpenAsync(Path.Combine(folder, "councils.db"));
            await using var transport = new RabbitMqTransport(options);
            await using var bus = new EventBus(new EventBusOptions { Source = "councils" }, storage, transport);
            // A consumer's queue exists (as in production) but nobody consumes during the drain: the broker routes and keeps.
            await using (var queue = await transport.SubscribeAsync(new Subscription("rules", [TestEvents.Topic], (_, _) => Task.FromResult(DeliveryResult.Retry)), CancellationToken.None))
            {
            }
            for (var done = 0; done < rows; done += 1000)
            {
                await storage.Outbox.AppendAsync(Enumerable.Range(done, Math.Min(1000, rows - done))
                    .Select(i => EventCatalog.ToOutbox($"courtyard-{i % courtyards}", new ThingHappened { ThingId = $"courtyard-{i % courtyards}/{i}", Sequence = i }))
                    .ToList());
            }
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            bus.StartRelay();
            while ((await storage.Outbox.GetStatsAsync()).Unsent > 0)
            {
                await Task.Delay(2);
            }
            var seconds = clock.Elapsed.TotalSeconds;
            var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            await bus.StopAsync();
            return new RelayDrain(rows, Math.Round(seconds, 2), Math.Round(rows / seconds), Math.Round(cpuSeconds / rows * 1e6));
        }
        finally
        {
            await DeleteRabbitTopologyAsync(options);
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Two services (producer, consumer) with their own SQLite databases over one kind of transport.</summary>
    private static async Task<CourtyardResult> CourtyardAsync(string name, Func<IEventTransport> newTransport, int events, int courtyards,
        double latencySeconds, bool sharedTransport = true)
    {
        var folder = Directory.CreateTempSubdirectory("courtyard-bench-events-").FullName;
        try
        {
            await using var producerStorage = await SqliteStorageProvider.OpenAsync(Path.Combine(folder, "councils.db"));
            await using var consumerStorage = await SqliteStorageProvider.OpenAsync(Path.Combine(folder, "rules.db"));
            var consumerTransport = newTransport();
            var producerTransport = sharedTransport ? consumerTransport : newTransport();
            var committedAt = new ConcurrentDictionary<string, long>();
            var latencies = new ConcurrentBag<double>();
            var handled = 0;
            var measuring = false;

            await using var consumer = new EventBus(new EventBusOptions { Source = "rules", RelayEnabled = false }, consumerStorage, consumerTransport);
            consumer.Handle<ThingHappened>("rules", async (thing, context) =>
            {
                // The effect: a state row written with the inbox mark, in one transaction (what a grain write does).
                await consumerStorage.State.WriteAsync(new StateWrite
                {
                    StateType = "effect",
                    Key = thing.ThingId,
                    Data = BitConverter.GetBytes(thing.Sequence),
                    Consumes = context.TakeMark(),
                });
                var now = Stopwatch.GetTimestamp();
                if (measuring && committedAt.TryGetValue(thing.ThingId, out var committed))
                {
                    latencies.Add(Stopwatch.GetElapsedTime(committed, now).TotalMilliseconds);
                }
                Interlocked.Increment(ref handled);
            });
            await using var producer = new EventBus(new EventBusOptions { Source = "councils" }, producerStorage, producerTransport);
            await consumer.StartAsync();
            await producer.StartAsync();

            var versions = new long[courtyards];
            async Task CommitAsync(int courtyard, long sequence)
            {
                var thingId = $"courtyard-{courtyard}/{sequence}";
                versions[courtyard] = await producer.CommitThingAsync($"courtyard-{courtyard}", sequence, versions[courtyard]);
                committedAt[thingId] = Stopwatch.GetTimestamp();
            }

            // Warm-up.
            await Task.WhenAll(Enumerable.Range(0, courtyards).Select(p => CommitAsync(p, -1 - p)));
            await WaitForAsync(() => handled >= courtyards, () => $"warm-up: handled {handled}, outbox {producerStorage.Outbox.GetStatsAsync().Result}");

            // 1. Maximum: every courtyard commits as fast as it can (one writer per courtyard, as a grain).
            var start = handled;
            var clock = Stopwatch.StartNew();
            var perCourtyard = events / courtyards;
            await Task.WhenAll(Enumerable.Range(0, courtyards).Select(p => Task.Run(async () =>
            {
                for (var s = 0; s < perCourtyard; s++)
                {
                    await CommitAsync(p, s);
                }
            })));
            Console.WriteLine($"  commits done after {clock.Elapsed.TotalSeconds:0.00} s: handled {handled - start}, outbox unsent {(await producerStorage.Outbox.GetStatsAsync()).Unsent}");
            await WaitForAsync(() => handled - start >= perCourtyard * courtyards);
            var max = new Throughput(perCourtyard * courtyards, Math.Round(clock.Elapsed.TotalSeconds, 2), Math.Round(perCourtyard * courtyards / clock.Elapsed.TotalSeconds));
            Console.WriteLine($"{name,-26} {max.PerSecond,8:0} events/s (commit -> handler effect)");

            // 2. Latency at half that rate: commits offered on a fixed schedule, round robin over the courtyards.
            var rate = max.PerSecond / 2;
            var total = (int)(rate * latencySeconds);
            var queues = Enumerable.Range(0, courtyards).Select(_ => System.Threading.Channels.Channel.CreateUnbounded<long>()).ToArray();
            var writers = Enumerable.Range(0, courtyards).Select(p => Task.Run(async () =>
            {
                await foreach (var sequence in queues[p].Reader.ReadAllAsync())
                {
                    await CommitAsync(p, sequence);
                }
            })).ToArray();
            start = handled;
            measuring = true;
            clock.Restart();
            for (var i = 0; i < total; i++)
            {
                var due = TimeSpan.FromSeconds(i / rate);
                var ahead = due - clock.Elapsed;
                if (ahead > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(ahead);
                }
                queues[i % courtyards].Writer.TryWrite(1_000_000 + i);
            }
            foreach (var queue in queues)
            {
                queue.Writer.Complete();
            }
            await Task.WhenAll(writers);
            await WaitForAsync(() => handled - start >= total);
            var achieved = total / clock.Elapsed.TotalSeconds;
            measuring = false;
            var sorted = latencies.Order().ToArray();
            var latency = new Latency(Math.Round(rate), total, Math.Round(achieved), Percentile(sorted, 0.50), Percentile(sorted, 0.99), Math.Round(sorted[^1], 2));
            Console.WriteLine($"{name,-26} at {latency.OfferedPerSecond:0}/s offered: p50 {latency.P50Ms} ms, p99 {latency.P99Ms} ms");

            await producer.StopAsync();
            await consumer.StopAsync();
            if (consumerTransport is RabbitMqTransport rabbit)
            {
                await DeleteRabbitTopologyAsync(rabbit.Options);
            }
            await consumerTransport.DisposeAsync();
            if (!sharedTransport)
            {
                await producerTransport.DisposeAsync();
            }
            return new CourtyardResult(max, latency);
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task DeleteRabbitTopologyAsync(RabbitMqTransportOptions options)
    {
        var factory = new ConnectionFactory { Uri = new Uri(options.Url) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeleteAsync(RabbitMqTransport.QueueName(options.Exchange, "rules", TestEvents.Topic));
        await channel.ExchangeDeleteAsync(options.Exchange);
    }

    private static async Task WaitForAsync(Func<bool> condition, Func<string>? describe = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException("events did not arrive within 2 minutes " + describe?.Invoke());
            }
            await Task.Delay(1);
        }
    }

    private static double Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(fraction * sorted.Length) - 1)], 2);

    private static async Task WriteReadmeSectionAsync(string readme, Throughput raw, CourtyardResult inProcess, CourtyardResult rabbit, RelayDrain relayDrain,
        Dictionary<string, string> machine)
    {
        var section = new StringBuilder()
            .AppendLine("## Events")
            .AppendLine()
            .AppendLine("`EventsBenchmark.cs` — integration events end to end, in one run: commit (grain-style state write + outbox row,")
            .AppendLine("SQLite) → outbox relay → transport → consumer handler whose effect is a state write carrying the inbox mark")
            .AppendLine("(SQLite, one transaction), 256 courtyards with one writer each; against raw RabbitMQ.Client publish → consume")
            .AppendLine("(persistent messages, durable queue, confirms awaited per 100, manual acks). Latency is effect committed − event")
            .AppendLine("committed, at a fixed offered rate of half the measured maximum.")
            .AppendLine()
            .AppendLine("```bash")
            .AppendLine("bash scripts/rabbitmq.sh start   # or set COURTYARD_TEST_RABBITMQ; the benchmark starts it otherwise")
            .AppendLine("dotnet run -c Release --project bench/Courtyard.Bench -- events [--events 20000] [--latency-s 8] [--courtyards 256] [--out FILE]")
            .AppendLine("```")
            .AppendLine()
            .AppendLine($"Last run ({DateTime.UtcNow:yyyy-MM-dd}, {machine["cores"]} cores, load average at start {machine["loadAverageAtStart"]}; `bench/results/events.json`):")
            .AppendLine()
            .AppendLine("| path | events/s (max) | offered at half | p50 ms | p99 ms |")
            .AppendLine("|---|---:|---:|---:|---:|")
            .AppendLine($"| raw RabbitMQ.Client (baseline) | {raw.PerSecond:0} | | | |")
            .AppendLine($"| Courtyard.Events, in-process | {inProcess.Max.PerSecond:0} | {inProcess.Latency.OfferedPerSecond:0} | {inProcess.Latency.P50Ms} | {inProcess.Latency.P99Ms} |")
            .AppendLine($"| Courtyard.Events, RabbitMQ | {rabbit.Max.PerSecond:0} ({rabbit.Max.PerSecond / raw.PerSecond:P0} of raw) | {rabbit.Latency.OfferedPerSecond:0} | {rabbit.Latency.P50Ms} | {rabbit.Latency.P99Ms} |")
            .AppendLine($"| outbox relay alone → RabbitMQ (backlog of {relayDrain.Rows:N0} rows, no consumer) | {relayDrain.PerSecond:0} rows/s, {relayDrain.CpuMicrosecondsPerRow:0} µs CPU/row | | | |")
            .AppendLine()
            .AppendLine("Targets: ≥ 5,000 events/s over RabbitMQ, p99 ≤ 50 ms at half that rate, ≥ 50% of the raw client's rate in the same run;")
            .AppendLine("the JSON's `targets` says whether this run met them.")
            .ToString();
        var text = File.Exists(readme) ? await File.ReadAllTextAsync(readme) : "# Benchmarks\n";
        var start = text.IndexOf("\n## Events\n", StringComparison.Ordinal);
        if (start >= 0)
        {
            var next = text.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
            text = text[..(start + 1)] + section + (next >= 0 ? "\n" + text[(next + 1)..] : "");
        }
        else
        {
            text = text.TrimEnd('\n') + "\n\n" + section;
        }
        await File.WriteAllTextAsync(readme, text);
    }

    private static async Task<string> StartRabbitMqAsync(string root)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(root, "scripts", "rabbitmq.sh"));
        start.ArgumentList.Add("start");
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException("scripts/rabbitmq.sh start failed");
        }
        return output.Trim().Split('\n').Last();
    }


    private static Dictionary<string, string> ParseOptions(string[] args)
    {
        var result = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            result[args[i].TrimStart('-')] = args[i + 1];
        }
        return result;
    }

}
