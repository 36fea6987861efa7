using Courtyard.Directory.V1;
using Google.Protobuf;
using Grpc.Core;
using DirectoryContract = Courtyard.Directory.V1.Directory;

namespace Courtyard.Directory.Tests.Support;

/// <summary>Calls tests make again and again.</summary>
public static class Calls
{
    public static string NewRequestId() => Guid.NewGuid().ToString("N");

    /// <summary>Runs ImportRoll to its end: every progress message, and the status it ended with.</summary>
    public static async Task<(IReadOnlyList<ImportRollProgress> Progress, Status Status)> ImportAsync(
        this DirectoryContract.DirectoryClient client, string token, string courtyardId, byte[] csv, bool dryRun = false, string? requestId = null)
    {
        var progress = new List<ImportRollProgress>();
        using var call = client.ImportRoll(new ImportRollRequest
        {
            RequestId = requestId ?? NewRequestId(), CourtyardId = courtyardId, Csv = ByteString.CopyFrom(csv), DryRun = dryRun,
        }, DirectoryTestHost.Bearer(token), DateTime.UtcNow.AddMinutes(2));
        try
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync())
            {
                progress.Add(message);
            }
            return (progress, Status.DefaultSuccess);
        }
        catch (RpcException e)
        {
            return (progress, e.Status);
        }
    }

    public static Task<IReadOnlyList<Household>> AllHouseholdsAsync(this DirectoryContract.DirectoryClient client, string token, string courtyardId) =>
        AllPagesAsync<Household>(async page =>
        {
            var answer = await client.ListHouseholdsAsync(new ListHouseholdsRequest { CourtyardId = courtyardId, Page = page }, DirectoryTestHost.Bearer(token));
            return (answer.Households, answer.Page);
        });

    public static Task<IReadOnlyList<Resident>> AllResidentsAsync(this DirectoryContract.DirectoryClient client, string token, string courtyardId) =>
        AllPagesAsync<Resident>(async page =>
        {
            var answer = await client.ListResidentsAsync(new ListResidentsRequest { CourtyardId = courtyardId, Page = page }, DirectoryTestHost.Bearer(token));
            return (answer.Residents, answer.Page);
        });

    private static async Task<IReadOnlyList<T>> AllPagesAsync<T>(Func<Common.V1.PageRequest, Task<(IEnumerable<T> Items, Common.V1.PageResponse Page)>> read)
    {
        var all = new List<T>();
        string pageToken = "";
        do
        {
            var (items, page) = await read(new Common.V1.PageRequest { PageSize = 500, PageToken = pageToken });
            all.AddRange(items);
            pageToken = page.NextPageToken;
        }
        while (pageToken.Length > 0);
        return all;
    }

}
