using System.Text;

namespace Courtyard.Directory.Tests.Support;

/// <summary>Roll spreadsheets as committees save them. Also compiled into bench/Courtyard.Bench (directory-import).</summary>
public static class RollFiles
{
    public const string Header = "楼栋,单元,房号,面积,业主/租户,姓名,电话";

    /// <summary>A courtyard of <paramref name="households"/> households: one owner each, every tenth also let to a tenant.</summary>
    public static string Generate(int households, int seed = 7)
    {
        var random = new Random(seed);
        var text = new StringBuilder(Header).Append('\n');
        for (int i = 0; i < households; i++)
        {
            int building = i / 60 + 1, unit = i / 20 % 3 + 1, room = (i % 20 / 2 + 1) * 100 + i % 2 + 1;
            string area = (random.Next(4500, 14000) / 100m).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
            text.Append($"{building},{unit},{room},{area},业主,业主{i},13{i % 10}{i:D8}\n");
            if (i % 10 == 9)
            {
                text.Append($"{building},{unit},{room},{area},租户,租户{i},15{i % 10}{i:D8}\n");
            }
        }
        return text.ToString();
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
