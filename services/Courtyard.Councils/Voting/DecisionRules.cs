using System.Numerics;

namespace Courtyard.Councils.Voting;

/// <summary>The decision rules of a vote (values match courtyard.councils.v1.VoteRule).</summary>
public enum DecisionRuleKind
{
    SimpleMajority = 1,
    CivilCode278Ordinary = 2,
    CivilCode278Major = 3,
}

/// <summary>
/// A share that a part must reach of a whole: at least (inclusive) or more than (strict) Numerator/Denominator.
/// Compared by cross-multiplication in integers, so exactly 2/3 is exactly 2/3 — there is no floating point anywhere.
/// </summary>
public sealed record Threshold(int Numerator, int Denominator, bool Inclusive)
{
    public bool IsMetBy(BigInteger part, BigInteger whole)
    {
        var lhs = part * Denominator;
        var rhs = whole * Numerator;
        return Inclusive ? lhs >= rhs : lhs > rhs;
    }

    /// <summary>"≥ 2/3", "> 1/2".</summary>
    public string Symbol => $"{(Inclusive ? "≥" : ">")} {Numerator}/{Denominator}";

    public string ChineseWords => (Numerator, Denominator, Inclusive) switch
    {
        (2, 3, true) => "三分之二以上（含）",
        (3, 4, true) => "四分之三以上（含）",
        (1, 2, false) => "过半数",
        _ => Symbol,
    };
}

/// <summary>
/// One decision rule: whether ballots are weighted by floor area, the participation both area and voters must reach
/// (none for a simple majority), and what passes.
/// </summary>
public sealed record DecisionRule(
    DecisionRuleKind Kind,
    string NameZh,
    string NameEn,
    bool OwnersByAreaPerHousehold,
    Threshold? Participation,
    Threshold? Approval);

/// <summary>
/// Every decision rule, declared once. Everything else — the kind table, the tally, the explanation, the proto
/// comments — reads from here.
/// </summary>
public static class DecisionRules
{
    /// <summary>More FOR than AGAINST among the ballots cast; abstentions count for neither; a tie fails.</summary>
    public static readonly DecisionRule SimpleMajority = new(
        DecisionRuleKind.SimpleMajority, "简单多数", "simple majority",
        OwnersByAreaPerHousehold: false, Participation: null, Approval: null);

    /// <summary>PRC Civil Code art. 278 except items (6)–(8): 2/3 take part (area AND owners); more than half of both approve.</summary>
    public static readonly DecisionRule CivilCode278Ordinary = new(
        DecisionRuleKind.CivilCode278Ordinary, "《民法典》第二百七十八条一般事项", "Civil Code art. 278, ordinary matter",
        OwnersByAreaPerHousehold: true,
        Participation: new Threshold(2, 3, Inclusive: true),
        Approval: new Threshold(1, 2, Inclusive: false));

    /// <summary>PRC Civil Code art. 278 items (6)–(8): 2/3 take part (area AND owners); at least 3/4 of both approve.</summary>
    public static readonly DecisionRule CivilCode278Major = new(
        DecisionRuleKind.CivilCode278Major, "《民法典》第二百七十八条重大事项", "Civil Code art. 278, major matter",
        OwnersByAreaPerHousehold: true,
        Participation: new Threshold(2, 3, Inclusive: true),
        Approval: new Threshold(3, 4, Inclusive: true));

    public static IReadOnlyList<DecisionRule> All { get; } = [SimpleMajority, CivilCode278Ordinary, CivilCode278Major];

    public static DecisionRule For(DecisionRuleKind kind) => All.Single(rule => rule.Kind == kind);
}
