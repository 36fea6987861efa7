using Courtyard.ServiceDefaults;

namespace Courtyard.Directory;

/// <summary>Refusals more than one part of Directory gives, worded once.</summary>
internal static class Refusals
{
    public static RequestRefusedException RequestIdMissing() =>
        RequestRefusedException.InvalidArgument("缺少 request_id。", "request_id is required: a client-chosen id (a UUID) so a retry is not done twice.");

    public static RequestRefusedException CourtyardNotFound(string id) =>
        RequestRefusedException.NotFound($"找不到院落 {id}。", $"No courtyard {id}.");

    public static RequestRefusedException HouseholdNotFound(string id) =>
        RequestRefusedException.NotFound($"找不到住户 {id}。", $"No household {id}.");

    public static RequestRefusedException ResidentNotFound(string id) =>
        RequestRefusedException.NotFound($"找不到居民 {id}。", $"No resident {id}.");

    public static RequestRefusedException AccountNotFound(string id) =>
        RequestRefusedException.NotFound($"找不到账号 {id}。", $"No account {id}.");

    public static RequestRefusedException NodeNotFound(string id) =>
        RequestRefusedException.NotFound($"找不到辖区节点 {id}。", $"No street, community or courtyard {id}.");

    public static void RequireRequestId(string requestId)
    {
        if (string.IsNullOrWhiteSpace(requestId))
        {
            throw RequestIdMissing();
        }
    }

    public static string RequireName(string? text, string what, string whatEnglish, int max = 100)
    {
        string value = (text ?? "").Trim();
        if (value.Length == 0)
        {
            throw RequestRefusedException.InvalidArgument($"请填写{what}。", $"The {whatEnglish} is required.");
        }
        if (value.Length > max)
        {
            throw RequestRefusedException.InvalidArgument($"{what}不能超过 {max} 个字。", $"The {whatEnglish} may have at most {max} characters.");
        }
        return value;
    }
}
