using System.Globalization;
using System.Numerics;

namespace Courtyard.Councils.Voting;

/// <summary>
/// The result in words a resident understands, Chinese first, e.g.
/// 「通过：参与表决面积占 71.3%、人数 68/95 户；同意面积占参与面积 80.2%、人数 52/68 户」. Percentages are rounded for
/// reading only; the decision itself is exact (<see cref="Threshold"/>).
/// </summary>
public static class ResultExplanation
{
    public static (string Zh, string En) Explain(DecisionRule rule, ElectorateKind electorate, TallyCounts counts,
        Decision decision, IReadOnlyList<VoteOptionSpec> options, bool final)
    {
        var unitZh = electorate == ElectorateKind.PerHousehold ? "户" : "人";
        var unitEn = electorate == ElectorateKind.PerHousehold ? "households" : "residents";
        var (verdictZh, verdictEn) = (decision.Outcome, final) switch
        {
            (Outcome.Passed, true) => ("通过", "Passed"),
            (_, true) => ("未通过", "Not passed"),
            (Outcome.Passed, false) => ("统计中，如现在截止将通过", "Counting; would pass if it closed now"),
            _ => ("统计中，如现在截止将不通过", "Counting; would not pass if it closed now"),
        };
        var participating = counts.Participating;
        var eligible = counts.Eligible;

        if (rule.Participation is { } participation)
        {
            var turnoutZh = $"参与表决面积占 {Percent(participating.AreaDm2, eligible.AreaDm2)}、人数 {participating.Voters}/{eligible.Voters} {unitZh}";
            var turnoutEn = $"participating area {Percent(participating.AreaDm2, eligible.AreaDm2)}, owners {participating.Voters}/{eligible.Voters} {unitEn}";
            if (decision.Outcome == Outcome.ParticipationNotMet)
                return ($"{verdictZh}：{turnoutZh}，未达到面积和人数均{participation.ChineseWords}的参与要求",
                        $"{verdictEn}: {turnoutEn}; participation needs {participation.Symbol} of both area and owners");
            var approval = rule.Approval!;
            var favourZh = $"同意面积占参与面积 {Percent(counts.InFavour.AreaDm2, participating.AreaDm2)}、人数 {counts.InFavour.Voters}/{participating.Voters} {unitZh}";
            var favourEn = $"in favour {Percent(counts.InFavour.AreaDm2, participating.AreaDm2)} of participating area, {counts.InFavour.Voters}/{participating.Voters} {unitEn}";
            return decision.Outcome == Outcome.Passed
                ? ($"{verdictZh}：{turnoutZh}；{favourZh}", $"{verdictEn}: {turnoutEn}; {favourEn}")
                : ($"{verdictZh}：{turnoutZh}；{favourZh}，未达到面积和人数均{approval.ChineseWords}",
                   $"{verdictEn}: {turnoutEn}; {favourEn}; passing needs {approval.Symbol} of both");
        }

        var castZh = $"共 {participating.Voters}/{eligible.Voters} {unitZh}投票";
        var castEn = $"{participating.Voters} of {eligible.Voters} {unitEn} voted";
        if (options.Count > 0)
        {
            var listZh = string.Join("、", options.Select(o => $"{o.Label} {counts.Options.GetValueOrDefault(o.Id).Voters} {unitZh}"));
            var listEn = string.Join(", ", options.Select(o => $"{o.Label} {counts.Options.GetValueOrDefault(o.Id).Voters}"));
            var winner = options.FirstOrDefault(o => o.Id == decision.WinningOptionId);
            return winner is not null
                ? ($"{verdictZh}：{listZh}（{castZh}）；{winner.Label}得票最多", $"{verdictEn}: {listEn} ({castEn}); {winner.Label} has the most votes")
                : ($"{verdictZh}：{listZh}（{castZh}）；没有得票唯一最多的选项", $"{verdictEn}: {listEn} ({castEn}); no option has strictly the most votes");
        }
        var sidesZh = $"同意 {counts.InFavour.Voters} {unitZh}、反对 {counts.Against.Voters} {unitZh}、弃权 {counts.Abstaining.Voters} {unitZh}（{castZh}）";
        var sidesEn = $"{counts.InFavour.Voters} for, {counts.Against.Voters} against, {counts.Abstaining.Voters} abstaining ({castEn})";
        return decision.Outcome == Outcome.Passed
            ? ($"{verdictZh}：{sidesZh}；同意多于反对", $"{verdictEn}: {sidesEn}; more for than against")
            : ($"{verdictZh}：{sidesZh}；同意未多于反对", $"{verdictEn}: {sidesEn}; not more for than against");
    }

    /// <summary>part/whole as a percentage with one decimal, rounded half up in integers ("71.3%"); "0.0%" of nothing.</summary>
    public static string Percent(BigInteger part, BigInteger whole)
    {
        if (whole.IsZero) return "0.0%";
        var tenthsOfPercent = (part * 2000 + whole) / (whole * 2);
        return string.Create(CultureInfo.InvariantCulture, $"{tenthsOfPercent / 10}.{tenthsOfPercent % 10}%");
    }
}
