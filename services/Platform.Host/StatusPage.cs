using System.Net;
using System.Text;
using Courtyard.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans;
using Orleans.Runtime;

namespace Platform.Host;

/// <summary>GET / on the HTTP port: a short page saying the host runs, what it serves and where (Chinese first).</summary>
internal static class StatusPage
{
    public static void MapStatusPage(this WebApplication app) =>
        // The explicit return type keeps this a route handler: `async (HttpContext) => …` alone would bind as a
        // RequestDelegate and its result would be dropped.
        app.MapGet("/status", async Task<IResult> (HttpContext http) =>
            Results.Content(await RenderAsync(http.RequestServices, http.RequestAborted), "text/html; charset=utf-8"));

    private static async Task<string> RenderAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var endpoints = services.GetRequiredService<ServiceEndpoints>();
        var options = services.GetRequiredService<ServiceOptions>();
        var silo = services.GetRequiredService<SiloSettings>();
        var report = await services.GetRequiredService<HealthCheckService>()
            .CheckHealthAsync(check => check.Tags.Contains(ServiceHealthChecks.ReadyTag), cancellationToken);
        bool serving = report.Status != HealthStatus.Unhealthy;
        int activations = await services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetTotalActivationCount();

        var rows = new StringBuilder();
        foreach (string name in ServiceHealthChecks.HostedGrpcServices(services))
        {
            rows.Append("<li><code>").Append(WebUtility.HtmlEncode(name)).Append("</code></li>\n");
        }
        var checks = new StringBuilder();
        foreach (var (name, entry) in report.Entries)
        {
            string state = entry.Status == HealthStatus.Unhealthy ? "异常 unhealthy" : "正常 healthy";
            checks.Append("<li><code>").Append(WebUtility.HtmlEncode(name)).Append("</code> — ").Append(state);
            if (entry.Status == HealthStatus.Unhealthy && entry.Description is { Length: > 0 } reason)
            {
                checks.Append(": ").Append(WebUtility.HtmlEncode(reason));
            }
            checks.Append("</li>\n");
        }
        var storages = new StringBuilder();
        foreach (var storage in services.GetServices<StorageSettings>())
        {
            storages.Append("<li><code>").Append(WebUtility.HtmlEncode(storage.Name)).Append("</code>: <code>")
                .Append(WebUtility.HtmlEncode(storage.Description)).Append("</code></li>\n");
        }
        if (storages.Length == 0)
        {
            storages.Append("<li>（尚无服务 <span lang=\"en\">no service yet</span>）</li>\n");
        }
        string grpc = WebUtility.HtmlEncode(endpoints.GrpcAddress.ToString().TrimEnd('/'));
        string data = WebUtility.HtmlEncode(options.DataDir);
        string cluster = WebUtility.HtmlEncode($"{silo.Description}, ServiceId {silo.ServiceId}, silo {services.GetRequiredService<ILocalSiloDetails>().SiloAddress.Endpoint}");
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
            <p><strong>{{(serving ? "运行中" : "未就绪")}}</strong> <span lang="en">{{(serving ? "Running" : "Not ready")}}</span></p>
            <p>gRPC（h2c）地址 <span lang="en">gRPC (h2c) address</span>: <code>{{grpc}}</code></p>
            <p>数据目录 <span lang="en">Data folder</span>: <code>{{data}}</code></p>
            <p>集群 <span lang="en">Cluster</span>: <code>{{cluster}}</code></p>
            <p>活跃 grain 数 <span lang="en">Active grains</span>: {{activations}}</p>
            <h2>数据库 <small lang="en">Storage</small></h2>
            <ul>
            {{storages}}</ul>
            <h2>服务 <small lang="en">gRPC services</small></h2>
            <ul>
            {{rows}}</ul>
            <h2>健康检查 <small lang="en">Health checks</small></h2>
            <ul>
            {{checks}}</ul>
            <p>指标 <span lang="en">Metrics</span>: <a href="/metrics"><code>/metrics</code></a> · <a href="/healthz"><code>/healthz</code></a></p>
            </body>
            </html>
            """;
    }
}
