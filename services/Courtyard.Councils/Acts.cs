using Courtyard.Councils.Voting;

namespace Courtyard.Councils;

/// <summary>
/// Who is calling, as the handler read it from the caller's access token: the account (who is recorded as having done
/// it), the resident ids the account has on the rolls (whom it may act for online: its own household's ballot and
/// co-signature), and whether it sits on this courtyard's committee or chairs it. Grains decide with it what depends on
/// the request's content (a paper ballot needs a committee member; an early close the chair); the access table decides
/// the rest before the call.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record Caller(
    [property: Id(0)] string AccountId,
    [property: Id(1)] string[] ResidentIds,
    [property: Id(2)] bool IsCommitteeMember,
    [property: Id(3)] bool IsChair)
{
    /// <summary>The first of <paramref name="residentIds"/> that is one of the caller's own, or null.</summary>
    public string? OwnResidentAmong(IEnumerable<string> residentIds) => residentIds.FirstOrDefault(id => ResidentIds.Contains(id, StringComparer.Ordinal));
}

/// <summary>How an act reached the platform: online by the resident, on paper entered by the committee, or by proxy.</summary>
[GenerateSerializer, Immutable]
public sealed record ChannelRecord(
    [property: Id(0)] ChannelKind Kind,
    [property: Id(1)] string EnteredById = "",
    [property: Id(2)] string PaperSerial = "",
    [property: Id(3)] string ScanUri = "",
    [property: Id(4)] string ProxyId = "",
    [property: Id(5)] string WitnessId = "",
    [property: Id(6)] string AuthorizationRef = "",
    [property: Id(7)] string Reason = "")
{
    public static readonly ChannelRecord Online = new(ChannelKind.Online);
}

/// <summary>Who did what, when and how: the provenance kept with every act a resident or an auditor may question.</summary>
[GenerateSerializer, Immutable]
public sealed record AuditRecord(
    [property: Id(0)] string ActorId,
    [property: Id(1)] string RecordedById,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] ChannelRecord Channel,
    [property: Id(4)] string RequestId);

/// <summary>Who may enter an act through which channel, declared once for ballots, co-signatures, comments and objections.</summary>
public static class ChannelRules
{
    /// <summary>
    /// Admits a paper or proxy entry only from a committee member of the courtyard, with what the audit needs (the
    /// paper's serial; the proxy, a witness who is neither the proxy nor the principal, and the reason), and returns the
    /// channel as it will be recorded (the entering member is always the caller).
    /// </summary>
    public static ChannelRecord Admit(ChannelRecord channel, Caller caller, string principalId)
    {
        if (channel.Kind == ChannelKind.Online) return ChannelRecord.Online;
        if (!caller.IsCommitteeMember)
            throw ServiceDefaults.RequestRefusedException.PermissionDenied(
                "纸质和委托录入只能由本院落院委会委员操作。", "Only a member of this courtyard's committee can enter paper and proxy acts.");
        if (channel.Kind == ChannelKind.Paper)
        {
            if (string.IsNullOrWhiteSpace(channel.PaperSerial))
                throw ServiceDefaults.RequestRefusedException.InvalidArgument("请填写纸质表的编号，以便核对原件。", "Give the paper form's serial number so the record can be matched to it.");
            return channel with { EnteredById = caller.AccountId };
        }
        if (string.IsNullOrWhiteSpace(channel.ProxyId) || string.IsNullOrWhiteSpace(channel.WitnessId) || string.IsNullOrWhiteSpace(channel.Reason))
            throw ServiceDefaults.RequestRefusedException.InvalidArgument(
                "委托录入需要写明受托人、见证人和委托原因。", "A proxy entry needs the proxy, a witness and the reason.");
        if (channel.WitnessId == channel.ProxyId || channel.WitnessId == principalId || channel.ProxyId == principalId)
            throw ServiceDefaults.RequestRefusedException.InvalidArgument(
                "见证人不能是受托人或委托人本人，受托人也不能是委托人本人。", "The witness cannot be the proxy or the principal, and the proxy cannot be the principal.");
        return channel with { EnteredById = caller.AccountId };
    }
}
