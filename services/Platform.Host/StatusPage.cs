using System.Net;
using System.Text;
using Courtyard.Events.Transports;
using Courtyard.Grains;
using Courtyard.Grpc;
using Courtyard.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Platform.Host;

/// <summary>GET / on the HTTP port: a short page saying the host runs, what it serves and where (Chinese first).</summary>
internal static class StatusPage
{
    public static void MapStatusPage(this WebApplication app) =>
        app.MapGet("/", (HttpContext http) => Results.Content(Render(http.RequestServices), "text/html; charset=utf-8"));

    private static string Render(IServiceProvider services)
    {
        var endpoints = services.GetRequiredService<ServiceEndpoints>();
        var options = services.GetRequiredService<ServiceOptions>();
        var health = services.GetRequiredService<HealthStatusService>();
        bool serving = health.TryGetStatus("", out var overall) && overall == ServingStatus.Serving;

        var rows = new StringBuilder();
        foreach (string name in PlatformHost.HostedGrpcServices(services))
        {
            string state = health.TryGetStatus(name, out var status) && status == ServingStatus.Serving ? "运行中 serving" : "停止 not serving";
            rows.Append("<li><code>").Append(WebUtility.HtmlEncode(name)).Append("</code> — ").Append(state).Append("</li>\n");
        }
        string grpc = WebUtility.HtmlEncode(endpoints.GrpcAddress.ToString().TrimEnd('/'));
        string data = WebUtility.HtmlEncode(options.DataDir);
        string storage = WebUtility.HtmlEncode(services.GetRequiredService<StorageSettings>().Description);
        string events = WebUtility.HtmlEncode(services.GetRequiredService<IEventTransport>().Name);
        long activations = services.GetRequiredService<GrainRuntime>().ActivationCount;
        return $$"""
            <!doctype html>
            <html lang="zh-CN">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>院落自治平台 Courtyard Platform</title>
            <style>body{font-family:sans-serif;font-size:1.2rem;line-height:1.6;max-width:40rem;margin:2rem auto;padding:0 1rem}code{font-size:1rem}</style>
            </head>
            <body>
            <h1>院落自治平台 <small lang="en">Courtyard Platform</small></h1>
            <p><strong>{{(serving ? "运行中" : "正在停止")}}</strong> <span lang="en">{{(serving ? "Running" : "Stopping")}}</span></p>
            <p>gRPC（h2c）地址 <span lang="en">gRPC (h2c) address</span>: <code>{{grpc}}</code></p>
            <p>数据目录 <span lang="en">Data folder</span>: <code>{{data}}</code></p>
            <p>数据库 <span lang="en">Storage</span>: <code>{{storage}}</code></p>
            <p>事件传输 <span lang="en">Event transport</span>: <code>{{events}}</code></p>
            <p>活跃 grain 数 <span lang="en">Active grains</span>: {{activations}}</p>
            <h2>服务 <small lang="en">Services</small></h2>
            <ul>
            {{rows}}</ul>
            </body>
            </html>
            """;
    }
}
