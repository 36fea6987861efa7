using Google.Protobuf.Collections;
using Grpc.Core;

namespace Courtyard.Portal.Grpc;

/// <summary>Reads every page of a List call (a courtyard's households or residents) for the committee's forms.</summary>
public static class RollPages
{
    public const int MaxPages = 20;

    public static async Task<List<TItem>> AllAsync<TResponse, TItem>(Func<string, Task<TResponse>> call, Func<TResponse, (RepeatedField<TItem> Items, string? NextPageToken)> read)
    {
        var all = new List<TItem>();
        string token = "";
        for (int page = 0; page < MaxPages; page++)
        {
            TResponse response;
            try
            {
                response = await call(token);
            }
            catch (RpcException)
            {
                // The form still works with what was read; the service refuses a wrong entry anyway.
                break;
            }
            var (items, next) = read(response);
            all.AddRange(items);
            if (string.IsNullOrEmpty(next))
            {
                break;
            }
            token = next;
        }
        return all;
    }
}
