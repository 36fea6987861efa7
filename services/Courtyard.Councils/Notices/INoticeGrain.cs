using Courtyard.Councils.Roll;

namespace Courtyard.Councils.Notices;

/// <summary>A notice to post: its content before the times are set.</summary>
[GenerateSerializer, Immutable]
public sealed record PostCommand(
    [property: Id(0)] string RequestId,
    [property: Id(1)] NoticeKind Kind,
    [property: Id(2)] string SubjectKind,
    [property: Id(3)] string SubjectId,
    [property: Id(4)] string SubjectService,
    [property: Id(5)] string TitleZh,
    [property: Id(6)] string TitleEn,
    [property: Id(7)] string BodyZh,
    [property: Id(8)] string BodyEn,
    [property: Id(9)] int DisplayDays,
    [property: Id(10)] int ObjectionDays,
    [property: Id(11)] string SupersedesNoticeId,
    [property: Id(12)] TerritoryPath Territory);

[GenerateSerializer, Immutable]
public sealed record ObjectionRecord(
    [property: Id(0)] string Id,
    [property: Id(1)] string Text,
    [property: Id(2)] AuditRecord Audit,
    [property: Id(3)] string AnswerText,
    [property: Id(4)] AuditRecord? AnswerAudit);

[GenerateSerializer, Immutable]
public sealed record NoticeView(
    [property: Id(0)] NoticeContent Content,
    [property: Id(1)] string Sha256,
    [property: Id(2)] AuditRecord Posted,
    [property: Id(3)] TerritoryPath Territory,
    [property: Id(4)] ObjectionRecord[] Objections,
    [property: Id(5)] string SupersededBy);

[GenerateSerializer, Immutable]
public sealed record Verification(
    [property: Id(0)] bool Matches,
    [property: Id(1)] bool ContentIntact,
    [property: Id(2)] string Recomputed,
    [property: Id(3)] NoticeView Notice);

/// <summary>
/// One public notice, keyed "&lt;courtyard id&gt;/&lt;notice id&gt;": content fixed and hashed at posting, the objections
/// filed within its window and the committee's answers.
/// </summary>
public interface INoticeGrain : IGrainWithStringKey
{
    /// <summary>Posts the notice; a repeated call returns it as posted. <paramref name="caller"/> is null when Councils posts it itself (a vote's result).</summary>
    Task<NoticeView> Post(PostCommand command, Caller? caller);

    Task<NoticeView?> Get();

    /// <summary>Recomputes the hash of the notice as stored and compares it with the hash fixed at posting and with <paramref name="hash"/>.</summary>
    Task<Verification> Verify(string hash);

    Task<ObjectionRecord> RaiseObjection(string text, ChannelRecord channel, Caller caller, string requestId);

    Task<ObjectionRecord> AnswerObjection(string objectionId, string text, Caller caller, string requestId);

    Task MarkSupersededBy(string noticeId);
}
