using System.Globalization;
using Grpc.Core;

namespace Courtyard.Portal.Grpc;

/// <summary>
/// A failed call as a person reads it on the page: the service's own message (the gRPC status detail, "中文 English"),
/// split into its Chinese and English halves, and whether the outcome is unknown — the request may or may not have been
/// carried out (the connection or the service went away), so the page must not claim either and offers to send the
/// same request again (same request_id, so it is never done twice).
/// </summary>
public sealed record ServiceMessage(StatusCode Code, string Chinese, string English)
{
    public bool OutcomeUnknown => Code is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled
        or StatusCode.Internal or StatusCode.Unknown or StatusCode.Aborted;

    public bool NeedsSignIn => Code == StatusCode.Unauthenticated;

    /// <summary>The half in the reader's language first (the other one may be empty).</summary>
    public string Text => Preferences.PortalText.IsEnglish && English.Length > 0 ? English : Chinese.Length > 0 ? Chinese : English;

    public static ServiceMessage From(RpcException e)
    {
        if (!e.Status.Detail.Any(IsCjk))
        {
            // Not the service's own words but the transport's or the framework's ("Error connecting to subchannel.").
            return e.StatusCode switch
            {
                StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled =>
                    new(e.StatusCode, "暂时无法连接服务，请稍后再试。", "The service cannot be reached right now. Please try again later."),
                StatusCode.Unauthenticated => new(e.StatusCode, "请先登录。", "Please sign in first."),
                StatusCode.PermissionDenied => new(e.StatusCode, "您没有权限做这件事。", "You are not allowed to do this."),
                _ => new(e.StatusCode, "操作未能完成，请稍后再试。", "This could not be done. Please try again later."),
            };
        }
        var (chinese, english) = Split(e.Status.Detail);
        return new(e.StatusCode, chinese, english);
    }

    /// <summary>Splits "中文。English." after the last CJK character that is followed only by non-CJK text.</summary>
    internal static (string Chinese, string English) Split(string detail)
    {
        int lastCjk = -1;
        for (int i = 0; i < detail.Length; i++)
        {
            if (IsCjk(detail[i]))
            {
                lastCjk = i;
            }
        }
        if (lastCjk < 0)
        {
            return ("", detail.Trim());
        }
        return (detail[..(lastCjk + 1)].Trim(), detail[(lastCjk + 1)..].Trim());
    }

    private static bool IsCjk(char c) =>
        char.GetUnicodeCategory(c) == UnicodeCategory.OtherLetter && c >= '\u2E80'
        || c is >= '\u3000' and <= '\u303F' || c is >= '\uFF00' and <= '\uFFEF';
}
