using System.CommandLine;
using Courtyard.Directory.V1;
using Grpc.Core;
using Grpc.Net.Client;
using DirectoryContract = Courtyard.Directory.V1.Directory;

namespace Courtyard.Directory.Audit;

/// <summary>
/// <c>audit verify</c>: asks a running Directory to re-read one audit chain from its storage and check it, and prints
/// every entry that was modified, deleted or inserted out of order. Exit code 0: intact; 1: tampered; 2: could not check.
/// <code>dotnet run --project services/Courtyard.Directory -- audit verify --server http://127.0.0.1:5100 --chain cy_… --token $TOKEN [--anchor 42:ab12…]</code>
/// </summary>
public static class AuditCli
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, HttpMessageHandler? handler = null)
    {
        var server = new Option<string>("--server")
        {
            Description = "Directory 的 gRPC 地址。Directory's gRPC address.",
            DefaultValueFactory = _ => "http://127.0.0.1:5100",
        };
        var chain = new Option<string>("--chain") { Description = "院落、社区或街道编号，或 platform。A courtyard, community or street id, or platform.", Required = true };
        var token = new Option<string?>("--token") { Description = "访问令牌（默认取环境变量 COURTYARD_TOKEN）。Access token (default: $COURTYARD_TOKEN)." };
        var anchors = new Option<string[]>("--anchor")
        {
            Description = "之前记下的 序号:哈希，可多次给出。A sequence:hash pair kept from earlier; may be repeated.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var verify = new Command("verify", "校验审计链。Verify an audit chain.") { server, chain, token, anchors };
        verify.SetAction(async (parse, cancellationToken) =>
        {
            var request = new VerifyAuditLogRequest { ChainId = parse.GetValue(chain)! };
            foreach (string anchor in parse.GetValue(anchors) ?? [])
            {
                var parts = anchor.Split(':', 2);
                if (parts.Length != 2 || !long.TryParse(parts[0], out long sequence))
                {
                    await output.WriteLineAsync($"锚点格式应为 序号:哈希。An anchor is sequence:hash (got \"{anchor}\").");
                    return 2;
                }
                request.Anchors.Add(new AuditAnchor { Sequence = sequence, Hash = parts[1] });
            }
            return await VerifyAsync(parse.GetValue(server)!, parse.GetValue(token) ?? Environment.GetEnvironmentVariable("COURTYARD_TOKEN") ?? "",
                request, output, handler, cancellationToken);
        });
        var root = new RootCommand("院落自治平台 审计链工具。Courtyard audit log tool.") { verify };
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
    }

    private static async Task<int> VerifyAsync(string server, string token, VerifyAuditLogRequest request, TextWriter output,
        HttpMessageHandler? handler, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions { HttpHandler = handler });
        var client = new DirectoryContract.DirectoryClient(channel);
        VerifyAuditLogResponse result;
        try
        {
            result = await client.VerifyAuditLogAsync(request, new Metadata { { "authorization", "Bearer " + token } },
                deadline: DateTime.UtcNow.AddMinutes(2), cancellationToken: cancellationToken);
        }
        catch (RpcException e)
        {
            await output.WriteLineAsync($"无法校验：{e.Status.StatusCode} {e.Status.Detail}");
            return 2;
        }
        foreach (var finding in result.Findings)
        {
            string where = finding.StoredPosition > 0 ? $" [存储第 {finding.StoredPosition} 行 stored row {finding.StoredPosition}]" : "";
            await output.WriteLineAsync($"{finding.Kind}: #{finding.Sequence}{where} {finding.Message.ZhCn} {finding.Message.En}");
        }
        await output.WriteLineAsync(result.Intact
            ? $"完好：{request.ChainId} 共 {result.EntriesChecked} 条记录，链头 {result.Head.Sequence}:{result.Head.Hash}。Intact: {result.EntriesChecked} entries; keep the head as an anchor."
            : $"已被篡改：{request.ChainId} 有 {result.Findings.Count} 处问题。Tampered: {result.Findings.Count} finding(s) in {result.EntriesChecked} stored entries.");
        return result.Intact ? 0 : 1;
    }
}
