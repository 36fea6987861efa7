using Courtyard.Councils.Voting;
using Courtyard.ServiceDefaults;

namespace Courtyard.Councils.Proposals;

/// <summary>What a proposal decides (the case of courtyard.councils.v1.ProposalEffect it carries).</summary>
public enum ProposalKind
{
    General = 1,
    RuleAmendment = 2,
    FundUse = 3,
    ProjectAward = 4,
    ProjectSatisfaction = 5,
    CivilCode278 = 6,
}

/// <summary>How one kind of proposal may be voted on.</summary>
public sealed record KindRules(
    ProposalKind Kind,
    int CivilCode278Item,
    string NameZh,
    string NameEn,
    IReadOnlyList<DecisionRuleKind> AllowedRules,
    IReadOnlyList<ElectorateKind> AllowedElectorates,
    bool OptionsAllowed);

/// <summary>
/// The kind table, declared once: for each kind of proposal (and each art. 278 item) the decision rules, electorates
/// and ballot forms it allows. An art. 278 matter must use the statutory rule its item decides; other matters are decided
/// by a simple majority.
/// </summary>
public static class ProposalKinds
{
    private static readonly ElectorateKind[] Both = [ElectorateKind.PerHousehold, ElectorateKind.PerResident];
    private static readonly ElectorateKind[] OwnersPerHousehold = [ElectorateKind.PerHousehold];
    private static readonly DecisionRuleKind[] Majority = [DecisionRuleKind.SimpleMajority];

    private static KindRules Art278(int item, string zh, string en) => new(
        ProposalKind.CivilCode278, item, $"业主共同决定事项（第{item}项）：{zh}", $"Owners' matter (art. 278 item {item}): {en}",
        // Items (6)–(8) need 3/4; every other item — including (5), using the funds — more than half.
        item is 6 or 7 or 8 ? [DecisionRuleKind.CivilCode278Major] : [DecisionRuleKind.CivilCode278Ordinary],
        OwnersPerHousehold, OptionsAllowed: false);

    public static IReadOnlyList<KindRules> All { get; } =
    [
        new(ProposalKind.General, 0, "其他院落事项", "Other courtyard matter", Majority, Both, OptionsAllowed: true),
        new(ProposalKind.RuleAmendment, 0, "修订院规民约", "Rule amendment", Majority, Both, OptionsAllowed: false),
        new(ProposalKind.FundUse, 0, "使用社区工作经费", "Use of community funds", Majority, Both, OptionsAllowed: false),
        new(ProposalKind.ProjectAward, 0, "项目中标", "Project award", Majority, Both, OptionsAllowed: true),
        new(ProposalKind.ProjectSatisfaction, 0, "项目满意度测评", "Project satisfaction", Majority, Both, OptionsAllowed: false),
        Art278(1, "制定和修改业主大会议事规则", "the owners' assembly rules of procedure"),
        Art278(2, "制定和修改管理规约", "the management regulations"),
        Art278(3, "选举业主委员会或者更换业主委员会成员", "electing or replacing the owners' committee"),
        Art278(4, "选聘和解聘物业服务企业或者其他管理人", "hiring or dismissing the property company"),
        Art278(5, "使用建筑物及其附属设施的维修资金", "using the maintenance funds"),
        Art278(6, "筹集建筑物及其附属设施的维修资金", "raising the maintenance funds"),
        Art278(7, "改建、重建建筑物及其附属设施", "rebuilding or reconstructing buildings and facilities"),
        Art278(8, "改变共有部分的用途或者利用共有部分从事经营活动", "changing the use of common parts or running a business on them"),
        Art278(9, "有关共有和共同管理权利的其他重大事项", "other major matters of common ownership"),
    ];

    public static KindRules For(ProposalKind kind, int civilCode278Item) =>
        All.FirstOrDefault(entry => entry.Kind == kind && entry.CivilCode278Item == civilCode278Item)
        ?? throw RequestRefusedException.InvalidArgument(
            kind == ProposalKind.CivilCode278 ? "《民法典》第二百七十八条的事项编号必须是 1 至 9。" : "请选择议题类型。",
            kind == ProposalKind.CivilCode278 ? "An art. 278 matter must name its item, 1 to 9." : "Choose the kind of proposal.");

    /// <summary>Refuses a ballot design the kind does not allow, with the reason in words.</summary>
    public static void CheckBallotDesign(KindRules kind, BallotDesign design)
    {
        if (!kind.AllowedRules.Contains(design.Rule))
        {
            var allowed = string.Join("、", kind.AllowedRules.Select(rule => DecisionRules.For(rule).NameZh));
            var allowedEn = string.Join(", ", kind.AllowedRules.Select(rule => DecisionRules.For(rule).NameEn));
            throw RequestRefusedException.InvalidArgument(
                $"「{kind.NameZh}」只能采用以下表决规则：{allowed}。",
                $"A proposal of kind \"{kind.NameEn}\" must be decided by: {allowedEn}.");
        }
        if (!kind.AllowedElectorates.Contains(design.Electorate))
            throw RequestRefusedException.InvalidArgument(
                "业主共同决定事项按户（每个专有部分一票）由业主表决，不能按人表决。",
                "Owners' matters are voted per household (one vote per exclusive part), not per resident.");
        if (design.Options.Length > 0 && !kind.OptionsAllowed)
            throw RequestRefusedException.InvalidArgument(
                $"「{kind.NameZh}」只能表决同意、反对或弃权，不能设选项。", $"A proposal of kind \"{kind.NameEn}\" is voted for/against/abstain, without options.");
        if (design.Options.Length == 1)
            throw RequestRefusedException.InvalidArgument("选项表决至少需要两个选项。", "A choice vote needs at least two options.");
        if (design.Options.Length > 0)
        {
            if (design.Options.Select(option => option.Id).Distinct().Count() != design.Options.Length
                || design.Options.Any(option => string.IsNullOrWhiteSpace(option.Id) || string.IsNullOrWhiteSpace(option.Label)))
                throw RequestRefusedException.InvalidArgument("每个选项都要有不重复的编号和名称。", "Every option needs a unique id and a label.");
            if (design.MaxChoices < 1 || design.MaxChoices > design.Options.Length)
                throw RequestRefusedException.InvalidArgument(
                    $"每张选票可选的项数必须在 1 到 {design.Options.Length} 之间。", $"A ballot may choose between 1 and {design.Options.Length} options.");
        }
    }
}

/// <summary>How a proposal will be voted on, fixed when it is tabled.</summary>
[GenerateSerializer, Immutable]
public sealed record BallotDesign(
    [property: Id(0)] DecisionRuleKind Rule,
    [property: Id(1)] ElectorateKind Electorate,
    [property: Id(2)] bool Secret,
    [property: Id(3)] VoteOptionSpec[] Options,
    [property: Id(4)] int MaxChoices,
    [property: Id(5)] bool EarlyCloseAllowed);
