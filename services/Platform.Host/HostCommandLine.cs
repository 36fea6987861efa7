using System.CommandLine;
using System.CommandLine.Parsing;
using Courtyard.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.Host;

/// <summary>Options, help text and the run loop of the embedded host.</summary>
public static class HostCommandLine
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null)
    {
        var grpcPort = PortOption("--grpc-port", ServiceOptions.DefaultGrpcPort,
            "gRPC 端口（明文 HTTP/2，h2c）。gRPC port (cleartext HTTP/2). 0 = any free port.");
        var httpPort = PortOption("--http-port", ServiceOptions.DefaultHttpPort,
            "HTTP/1.1 端口：状态页、门户、Dapr 回调。HTTP/1.1 port: status page, portal, Dapr callbacks. 0 = any free port.");
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "数据目录（SQLite 文件存放于此，不存在则创建）。Data folder for the SQLite files (created if missing).",
            DefaultValueFactory = _ => HostSettings.DefaultDataDir,
            HelpName = "DIR",
        };
        var demo = new Option<bool>("--demo")
        {
            Description = "生成演示数据（街道、社区、120 户的院落、各角色账号、议题与表决），账号写入 DIR/demo-accounts.json；重复运行不会重复生成。" +
                "Seed demo data (a street, a community, a courtyard of 120 households, an account for each role, proposals and votes); " +
                "the accounts go to DIR/demo-accounts.json. Running it again duplicates nothing.",
        };
        var root = new RootCommand(
            "院落自治平台 一体化主机：一个进程运行全部服务。\n" +
            "Courtyard Platform embedded host: every service in one process, SQLite files in the data folder.")
        {
            grpcPort, httpPort, dataDir, demo,
        };
        root.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new HostSettings(parse.GetValue(grpcPort), parse.GetValue(httpPort), parse.GetValue(dataDir)!, parse.GetValue(demo));
            if (settings.GrpcPort != 0 && settings.GrpcPort == settings.HttpPort)
            {
                await error.WriteLineAsync(
                    $"--grpc-port 与 --http-port 不能相同。--grpc-port and --http-port must differ (both {settings.GrpcPort}).");
                return 1;
            }
            return await RunHostAsync(settings, output, error, configure);
        });

        // The web host handles Ctrl+C and SIGTERM itself (graceful shutdown), so the parser must not.
        var invocation = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null };
        return await root.Parse(args).InvokeAsync(invocation);
    }

    private static Option<int> PortOption(string name, int defaultPort, string description)
    {
        var option = new Option<int>(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultPort,
            HelpName = "PORT",
        };
        // One parser for "not a number" and "out of range", so both get the same clear message.
        option.CustomParser = result =>
        {
            string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) && port <= 65535)
            {
                return port;
            }
            result.AddError($"{name} 必须是 0–65535 之间的整数。{name} must be a whole number between 0 and 65535 (got \"{text}\").");
            return 0;
        };
        return option;
    }

    private static async Task<int> RunHostAsync(HostSettings settings, TextWriter output, TextWriter error,
        Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure)
    {
        Microsoft.AspNetCore.Builder.WebApplication app;
        try
        {
            app = PlatformHost.Build(settings, configure);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"无法创建数据目录：{e.Message}\nCannot create the data folder: {e.Message}");
            return 1;
        }
        catch (ServiceStartupException e)
        {
            await error.WriteLineAsync(e.Message);
            return 1;
        }
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            // Kestrel reports a taken port as IOException "Failed to bind to address …: address already in use."
            await app.DisposeAsync();
            await error.WriteLineAsync($"无法监听端口：{e.Message}\nCannot listen: {e.Message} Choose other ports with --grpc-port / --http-port.");
            return 1;
        }
        catch (ServiceStartupException e)
        {
            // A database could not be opened (or a setting is wrong): say so, no stack trace.
            await app.DisposeAsync();
            await error.WriteLineAsync(e.Message);
            return 1;
        }
        catch (Exception e) when (e.GetType().Namespace is { } origin && (origin.StartsWith("Orleans", StringComparison.Ordinal) || origin.StartsWith("StackExchange.Redis", StringComparison.Ordinal)))
        {
            // The silo could not join its cluster (e.g. Redis unreachable with Courtyard__Orleans__Clustering=redis).
            string cluster = app.Services.GetRequiredService<SiloSettings>().Description;
            await app.DisposeAsync();
            await error.WriteLineAsync(
                $"无法启动 Orleans 集群成员（{cluster}）：{e.Message}\n" +
                $"The Orleans silo could not join its cluster ({cluster}): {e.Message} Check Courtyard:Orleans:* (Courtyard__Orleans__…).");
            return 1;
        }

        await using (app)
        {
            var started = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();
            await output.WriteLineAsync(PlatformHost.DescribeAddresses(app));
            var readyIn = (DateTime.UtcNow - started).TotalSeconds;
            await output.WriteLineAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"就绪，用时 {readyIn:F1} 秒。Ready in {readyIn:F1} s. 按 Ctrl+C 停止。Press Ctrl+C to stop."));
            await output.FlushAsync();
            if (settings.Demo)
            {
                await output.WriteLineAsync("正在生成演示数据… Seeding the demo…");
                await output.FlushAsync();
                try
                {
                    string accounts = await Demo.PlatformDemo.SeedAsync(app, app.Lifetime.ApplicationStopping);
                    await output.WriteLineAsync($"演示数据已就绪，账号见 Demo ready; sign-in details: {accounts}");
                    await output.FlushAsync();
                }
                catch (ServiceStartupException e)
                {
                    await error.WriteLineAsync(e.Message);
                    await app.StopAsync();
                    return 1;
                }
            }
            using var stopping = app.Lifetime.ApplicationStopping.Register(() => output.WriteLine("正在停止… Stopping…"));
            await app.WaitForShutdownAsync();
        }
        await output.WriteLineAsync("已停止。Stopped.");
        await output.FlushAsync();
        return 0;
    }
}
