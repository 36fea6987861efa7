using Courtyard.Councils.V1;
using static Courtyard.Portal.Preferences.PortalText;

namespace Courtyard.Portal.Components.UI;

/// <summary>Kinds of proposal, vote rules and electorates in words (Councils' kind table decides which go together).</summary>
public static class Kinds
{
    public static string Describe(ProposalEffect? effect, BallotDesign? ballot)
    {
        string kind = effect?.EffectCase switch
        {
            ProposalEffect.EffectOneofCase.CivilCode278 => CivilCode278Item(effect.CivilCode278.Item),
            ProposalEffect.EffectOneofCase.RuleAmendment => T("院规修订", "Rule amendment"),
            ProposalEffect.EffectOneofCase.FundUse => T("资金使用", "Use of funds"),
            ProposalEffect.EffectOneofCase.ProjectAward => T("项目中标", "Project award"),
            ProposalEffect.EffectOneofCase.ProjectSatisfaction => T("项目满意度", "Project satisfaction"),
            _ => T("院落事务", "Courtyard matter"),
        };
        return ballot is null ? kind : $"{kind} · {Rule(ballot.Rule)} · {Electorate(ballot.Electorate)}";
    }

    public static string Rule(VoteRule rule) => rule switch
    {
        VoteRule.SimpleMajority => T("简单多数", "Simple majority"),
        VoteRule.CivilCode278Ordinary => T("民法典第278条：双过半", "Civil Code art. 278: more than half of area and owners"),
        VoteRule.CivilCode278Major => T("民法典第278条：双四分之三", "Civil Code art. 278: three quarters of area and owners"),
        _ => "",
    };

    public static string Electorate(Electorate electorate) => electorate switch
    {
        Councils.V1.Electorate.PerHousehold => T("每户一票", "one ballot per household"),
        Councils.V1.Electorate.PerResident => T("每人一票", "one ballot per resident"),
        _ => "",
    };

    public static string CivilCode278Item(int item) => item switch
    {
        1 => T("业主共同决定：制定和修改业主大会议事规则", "Owners' matter: the assembly's rules of procedure"),
        2 => T("业主共同决定：制定和修改管理规约", "Owners' matter: the management regulations"),
        3 => T("业主共同决定：选举或更换业主委员会", "Owners' matter: electing or replacing the owners' committee"),
        4 => T("业主共同决定：选聘和解聘物业服务企业", "Owners' matter: hiring or dismissing the property company"),
        5 => T("业主共同决定：使用维修资金", "Owners' matter: using the maintenance funds"),
        6 => T("业主共同决定：筹集维修资金", "Owners' matter: raising the maintenance funds"),
        7 => T("业主共同决定：改建、重建建筑物及其附属设施", "Owners' matter: rebuilding buildings and facilities"),
        8 => T("业主共同决定：改变共有部分的用途或者利用共有部分从事经营活动", "Owners' matter: changing the use of common parts"),
        9 => T("业主共同决定：其他重大事项", "Owners' matter: other major matters"),
        _ => T("业主共同决定", "Owners' matter"),
    };

    public static string KindName(ProposalKindInfo kind) =>
        kind.Kind == "civil_code_278" ? CivilCode278Item(kind.CivilCode278Item) : IsEnglish ? kind.NameEn : kind.NameZhCn;
}
