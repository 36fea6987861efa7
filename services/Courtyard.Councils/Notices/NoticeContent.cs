using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Courtyard.Councils.Notices;

/// <summary>Values match courtyard.councils.v1.NoticeKind.</summary>
public enum NoticeKind
{
    VoteResult = 1,
    RuleChange = 2,
    FundUse = 3,
    ProjectAward = 4,
    ElectionResult = 5,
    General = 6,
}

/// <summary>What a notice says: fixed at posting and covered by its content hash.</summary>
[GenerateSerializer, Immutable]
public sealed record NoticeContent(
    [property: Id(0)] string NoticeId,
    [property: Id(1)] string CourtyardId,
    [property: Id(2)] NoticeKind Kind,
    [property: Id(3)] string SubjectKind,
    [property: Id(4)] string SubjectId,
    [property: Id(5)] string SubjectService,
    [property: Id(6)] string TitleZh,
    [property: Id(7)] string TitleEn,
    [property: Id(8)] string BodyZh,
    [property: Id(9)] string BodyEn,
    [property: Id(10)] DateTimeOffset PostedAt,
    [property: Id(11)] DateTimeOffset ObjectionsCloseAt,
    [property: Id(12)] DateTimeOffset DisplayUntil,
    [property: Id(13)] string SupersedesNoticeId);

/// <summary>
/// The canonical form a notice's SHA-256 is computed over (documented in notices.proto and the README): UTF-8, one field
/// per line in a fixed order, each "name:byte length:value\n", times as RFC 3339 UTC to the second. Length prefixes make
/// it unambiguous whatever the text contains.
/// </summary>
public static class NoticeCanonicalForm
{
    public const string Version = "courtyard.notice.v1";

    public static string Of(NoticeContent notice)
    {
        var text = new StringBuilder();
        void Field(string name, string value) =>
            text.Append(name).Append(':').Append(Encoding.UTF8.GetByteCount(value).ToString(CultureInfo.InvariantCulture)).Append(':').Append(value).Append('\n');
        Field("version", Version);
        Field("id", notice.NoticeId);
        Field("courtyard_id", notice.CourtyardId);
        Field("kind", KindName(notice.Kind));
        Field("subject.kind", notice.SubjectKind);
        Field("subject.id", notice.SubjectId);
        Field("subject.service", notice.SubjectService);
        Field("title.zh_cn", notice.TitleZh);
        Field("title.en", notice.TitleEn);
        Field("body.zh_cn", notice.BodyZh);
        Field("body.en", notice.BodyEn);
        Field("posted_at", Time(notice.PostedAt));
        Field("objections_close_at", Time(notice.ObjectionsCloseAt));
        Field("display_until", Time(notice.DisplayUntil));
        Field("supersedes_notice_id", notice.SupersedesNoticeId);
        return text.ToString();
    }

    /// <summary>Lower-case hex SHA-256 of the canonical form.</summary>
    public static string Sha256(NoticeContent notice) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Of(notice))));

    /// <summary>A hash as printed or typed: spaces and case ignored.</summary>
    public static string Normalize(string hash) => new string(hash.Where(c => !char.IsWhiteSpace(c)).ToArray()).ToLowerInvariant();

    /// <summary>"3f2a9c1e 0b7d…": groups of eight for reading aloud.</summary>
    public static string Grouped(string hash) => string.Join(' ', hash.Chunk(8).Select(chunk => new string(chunk)));

    /// <summary>Times in the canonical form and the hash are whole seconds, so a notice is posted at a whole second.</summary>
    public static DateTimeOffset ToSecond(DateTimeOffset time) =>
        new(time.UtcTicks - time.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    private static string Time(DateTimeOffset time) => ToSecond(time).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string KindName(NoticeKind kind) => kind switch
    {
        NoticeKind.VoteResult => "NOTICE_KIND_VOTE_RESULT",
        NoticeKind.RuleChange => "NOTICE_KIND_RULE_CHANGE",
        NoticeKind.FundUse => "NOTICE_KIND_FUND_USE",
        NoticeKind.ProjectAward => "NOTICE_KIND_PROJECT_AWARD",
        NoticeKind.ElectionResult => "NOTICE_KIND_ELECTION_RESULT",
        _ => "NOTICE_KIND_GENERAL",
    };
}
