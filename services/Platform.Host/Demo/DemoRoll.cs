using System.Globalization;
using System.Text;

namespace Platform.Host.Demo;

/// <summary>
/// The demo courtyard's roll as its committee's spreadsheet would have it: three six-storey-and-up blocks of 40 flats
/// (2 units × 10 floors × 2 flats), 120 households. Unit 1 holds two-bedroom flats of 68–92 m², unit 2 three-bedroom
/// flats of 98–132 m² (areas to the hundredth, as on a property certificate); a third of the households list a co-owner
/// or a family member; eight flats are let, with the tenant on the roll beside the owner; some elderly owners have no
/// phone. The same every time (a fixed seed), so running the demo again imports the same file and changes nothing.
/// </summary>
public static class DemoRoll
{
    public const int Households = 120;

    private static readonly string[] Surnames = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"];

    private static readonly string[] GivenNames =
    [
        "秀英", "建国", "桂兰", "志强", "丽华", "国庆", "淑珍", "海燕", "德明", "玉兰", "建华", "红梅", "振华", "春梅", "文军",
        "美玲", "永刚", "慧敏", "卫东", "晓燕", "凤英", "家豪", "子涵", "雨桐", "宏伟", "静怡", "金凤", "浩然", "婉清", "立新",
    ];

    /// <summary>The flats that are let (by household index): their owner lives elsewhere, a tenant lives there.</summary>
    public static readonly int[] Let = [7, 19, 33, 46, 58, 71, 90, 113];

    public static string Csv()
    {
        var random = new Random(2026);
        var csv = new StringBuilder("楼栋,单元,房号,面积,业主/租户,姓名,电话\n");
        for (int i = 0; i < Households; i++)
        {
            var (building, unit, room) = DoorOf(i);
            decimal area = unit == 1 ? random.Next(6800, 9200) / 100m : random.Next(9800, 13200) / 100m;
            string Row(string relation, string name, string phone) =>
                string.Create(CultureInfo.InvariantCulture, $"{building},{unit},{room},{area:0.00},{relation},{name},{phone}\n");
            // Every seventh owner is elderly and has no mobile phone: they vote on paper or by proxy.
            csv.Append(Row("业主", NameOf(i, 0), i % 7 == 3 ? "" : PhoneOf(i, 0)));
            if (i % 3 == 1)
            {
                csv.Append(Row(i % 2 == 0 ? "共有人" : "家属", NameOf(i, 1), i % 6 == 1 ? PhoneOf(i, 1) : ""));
            }
            if (Let.Contains(i))
            {
                csv.Append(Row("租户", NameOf(i, 2), PhoneOf(i, 2)));
            }
        }
        return csv.ToString();
    }

    /// <summary>Building, unit and room of household <paramref name="i"/> (0-based): "1栋1单元301".</summary>
    public static (int Building, int Unit, int Room) DoorOf(int i) => (i / 40 + 1, i % 40 / 20 + 1, (i % 20 / 2 + 1) * 100 + i % 2 + 1);

    public static string DoorLabel(int i)
    {
        var (building, unit, room) = DoorOf(i);
        return $"{building}栋{unit}单元{room}";
    }

    private static string NameOf(int household, int person) =>
        Surnames[(household * 7 + person * 3) % Surnames.Length] + GivenNames[(household * 11 + person * 5) % GivenNames.Length];

    private static string PhoneOf(int household, int person) => $"13{person + 7}{10_000_000 + household * 37:D8}";
}
