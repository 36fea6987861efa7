using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Courtyard.Directory.Accounts;
using Courtyard.Directory.V1;
using CsvHelper;
using CsvHelper.Configuration;

namespace Courtyard.Directory.Roll;

/// <summary>One person on the committee's spreadsheet, checked.</summary>
[GenerateSerializer, Immutable]
public sealed record RollRow(
    [property: Id(0)] int Row,
    [property: Id(1)] string Building,
    [property: Id(2)] string Unit,
    [property: Id(3)] string Room,
    [property: Id(4)] long AreaDm2,
    [property: Id(5)] HouseholdRelation Relation,
    [property: Id(6)] string Name,
    [property: Id(7)] string Phone)
{
    public HouseholdKey Household => new(Building, Unit, Room);
}

/// <summary>A bad row, as the committee reads it: the spreadsheet's row number, the column, what to fix.</summary>
public sealed record RollRowError(int Row, string Column, string Chinese, string English);

public sealed record RollFile(IReadOnlyList<RollRow> Rows, IReadOnlyList<RollRowError> Errors, int RowsRead);

/// <summary>
/// Reads a roll exported from a spreadsheet (CsvHelper's RFC 4180 parser): UTF-8 or GB18030 (Excel's Chinese
/// default), a header row naming the columns in Chinese or English in any order, one person per row. Every bad row is
/// reported, with its row number as the spreadsheet shows it (the header is row 1); nothing is half-read.
/// </summary>
public static partial class RollCsvReader
{
    public const int MaxRows = 50_000;
    private const int MaxErrors = 1_000;
    private const long MaxAreaDm2 = 10_000 * 100;

    private enum Column { Building, Unit, Room, Area, Relation, Name, Phone }

    private static readonly Dictionary<string, Column> Headings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["楼栋"] = Column.Building, ["楼栋号"] = Column.Building, ["楼号"] = Column.Building, ["栋"] = Column.Building, ["楼"] = Column.Building, ["building"] = Column.Building,
        ["单元"] = Column.Unit, ["单元号"] = Column.Unit, ["unit"] = Column.Unit,
        ["房号"] = Column.Room, ["房间号"] = Column.Room, ["门牌号"] = Column.Room, ["室"] = Column.Room, ["room"] = Column.Room,
        ["面积"] = Column.Area, ["专有面积"] = Column.Area, ["专有部分面积"] = Column.Area, ["建筑面积"] = Column.Area, ["area"] = Column.Area,
        ["业主/租户"] = Column.Relation, ["业主或租户"] = Column.Relation, ["身份"] = Column.Relation, ["类型"] = Column.Relation, ["住户类型"] = Column.Relation,
        ["关系"] = Column.Relation, ["owner/tenant"] = Column.Relation, ["relation"] = Column.Relation,
        ["姓名"] = Column.Name, ["名字"] = Column.Name, ["name"] = Column.Name,
        ["电话"] = Column.Phone, ["手机"] = Column.Phone, ["手机号"] = Column.Phone, ["联系电话"] = Column.Phone, ["phone"] = Column.Phone,
    };

    private static readonly Dictionary<string, HouseholdRelation> Relations = new(StringComparer.OrdinalIgnoreCase)
    {
        ["业主"] = HouseholdRelation.Owner, ["户主"] = HouseholdRelation.Owner, ["产权人"] = HouseholdRelation.Owner, ["owner"] = HouseholdRelation.Owner,
        ["共有人"] = HouseholdRelation.CoOwner, ["共同共有人"] = HouseholdRelation.CoOwner, ["co-owner"] = HouseholdRelation.CoOwner,
        ["家属"] = HouseholdRelation.FamilyMember, ["家庭成员"] = HouseholdRelation.FamilyMember, ["同住"] = HouseholdRelation.FamilyMember, ["family"] = HouseholdRelation.FamilyMember,
        ["租户"] = HouseholdRelation.Tenant, ["租客"] = HouseholdRelation.Tenant, ["承租人"] = HouseholdRelation.Tenant, ["tenant"] = HouseholdRelation.Tenant,
    };

    private static readonly Column[] Required = [Column.Building, Column.Room, Column.Area, Column.Relation, Column.Name];

    static RollCsvReader() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    [GeneratedRegex(@"^[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]$")]
    private static partial Regex NationalId();

    [GeneratedRegex(@"^0[0-9]{2,3}-?[0-9]{7,8}$")]
    private static partial Regex Landline();

    [GeneratedRegex(@"^([0-9]+)(\.([0-9]{1,2}))?$")]
    private static partial Regex SquareMetres();

    [GeneratedRegex(@"[（(].*?[)）]")]
    private static partial Regex Parenthesised();

    /// <param name="progress">Called every 500 rows with the rows read so far.</param>
    public static RollFile Read(ReadOnlySpan<byte> file, Action<int>? progress = null)
    {
        string text = Decode(file);
        var errors = new List<RollRowError>();
        var rows = new List<RollRow>();
        using var parser = new CsvParser(new StringReader(text), new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            DetectDelimiter = true,
            DetectDelimiterValues = [",", "\t", ";"],
            BadDataFound = null,
        });
        if (!parser.Read())
        {
            errors.Add(new(1, "", "文件是空的。", "The file is empty."));
            return new RollFile(rows, errors, 0);
        }
        var columns = ReadHeader(parser.Record ?? [], errors);
        if (errors.Count > 0)
        {
            return new RollFile(rows, errors, 0);
        }
        int read = 0;
        var households = new Dictionary<HouseholdKey, RollRow>();
        var people = new HashSet<(HouseholdKey, string, string)>();
        while (parser.Read())
        {
            var record = parser.Record ?? [];
            if (record.All(string.IsNullOrWhiteSpace))
            {
                continue;
            }
            read++;
            if (read > MaxRows)
            {
                errors.Add(new(parser.Row, "", $"文件超过 {MaxRows} 行，请分批导入。", $"The file has more than {MaxRows} rows; import it in parts."));
                break;
            }
            if (ReadRow(parser.Row, record, columns, errors) is { } row)
            {
                if (households.TryGetValue(row.Household, out var first) && first.AreaDm2 != row.AreaDm2)
                {
                    errors.Add(new(row.Row, columns.Heading(Column.Area),
                        $"与第 {first.Row} 行是同一户，但面积不同（{Area(first.AreaDm2)} 与 {Area(row.AreaDm2)}）。",
                        $"Same household as row {first.Row} but a different area ({Area(first.AreaDm2)} vs {Area(row.AreaDm2)} m²)."));
                }
                else if (!people.Add((row.Household, row.Name, row.Phone)))
                {
                    errors.Add(new(row.Row, columns.Heading(Column.Name), $"与前面的行重复：同一户已有{row.Name}。", $"Duplicate: {row.Name} is already listed for this household."));
                }
                else
                {
                    households.TryAdd(row.Household, row);
                    rows.Add(row);
                }
            }
            if (errors.Count >= MaxErrors)
            {
                break;
            }
            if (read % 500 == 0)
            {
                progress?.Invoke(read);
            }
        }
        if (read == 0 && errors.Count == 0)
        {
            errors.Add(new(2, "", "文件只有表头，没有住户。", "The file has a header but no rows."));
        }
        progress?.Invoke(read);
        return new RollFile(errors.Count == 0 ? rows : [], errors, read);
    }

    public static string Area(long dm2) => (dm2 / 100m).ToString("0.##", CultureInfo.InvariantCulture);

    private static string Decode(ReadOnlySpan<byte> file)
    {
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(file).TrimStart('\uFEFF');
        }
        catch (DecoderFallbackException)
        {
            return Encoding.GetEncoding("GB18030").GetString(file);
        }
    }

    private sealed class ColumnMap(Dictionary<Column, int> positions, Dictionary<Column, string> headings)
    {
        public string Heading(Column column) => headings.GetValueOrDefault(column, "");

        public string Cell(string[] record, Column column) =>
            positions.TryGetValue(column, out int at) && at < record.Length ? record[at].Trim() : "";
    }

    private static ColumnMap ReadHeader(string[] header, List<RollRowError> errors)
    {
        var positions = new Dictionary<Column, int>();
        var headings = new Dictionary<Column, string>();
        for (int i = 0; i < header.Length; i++)
        {
            string heading = header[i].Trim().TrimStart('\uFEFF');
            string key = Parenthesised().Replace(heading, "").Replace(" ", "");
            if (key.Contains("身份证", StringComparison.Ordinal) || key.Contains("证件号", StringComparison.Ordinal))
            {
                errors.Add(new(1, heading, "文件含身份证号一列。平台不保存身份证号，请删除这一列后再导入。",
                    "The file has an ID-number column. The platform stores no national ID numbers: remove the column and import again."));
                continue;
            }
            if (Headings.TryGetValue(key, out var column) && positions.TryAdd(column, i))
            {
                headings[column] = heading;
            }
        }
        foreach (var column in Required.Where(c => !positions.ContainsKey(c)))
        {
            string name = column switch
            {
                Column.Building => "楼栋 building",
                Column.Room => "房号 room",
                Column.Area => "面积 area",
                Column.Relation => "业主/租户 owner/tenant",
                _ => "姓名 name",
            };
            errors.Add(new(1, "", $"表头缺少“{name.Split(' ')[0]}”一列。", $"The header row has no \"{name.Split(' ')[1]}\" column."));
        }
        return new ColumnMap(positions, headings);
    }

    private static RollRow? ReadRow(int rowNumber, string[] record, ColumnMap columns, List<RollRowError> errors)
    {
        int before = errors.Count;
        void Error(Column column, string zh, string en) => errors.Add(new(rowNumber, columns.Heading(column), zh, en));

        if (record.Any(cell => NationalId().IsMatch(cell.Trim())))
        {
            errors.Add(new(rowNumber, "", "这一行含有身份证号。平台不保存身份证号，请删除后再导入。",
                "This row holds a national ID number. The platform stores none: remove it and import again."));
            return null;
        }
        string building = Strip(columns.Cell(record, Column.Building), "号楼", "栋", "幢", "楼");
        string unit = Strip(columns.Cell(record, Column.Unit), "单元");
        string room = Strip(columns.Cell(record, Column.Room), "室", "号");
        if (building.Length == 0)
        {
            Error(Column.Building, "楼栋没有填写。", "The building is empty.");
        }
        if (room.Length == 0)
        {
            Error(Column.Room, "房号没有填写。", "The room is empty.");
        }
        if (building.Length > 20 || unit.Length > 20 || room.Length > 20)
        {
            Error(Column.Room, "楼栋、单元、房号各不能超过 20 个字。", "Building, unit and room may have at most 20 characters each.");
        }
        long area = 0;
        string areaText = Strip(columns.Cell(record, Column.Area), "平方米", "平米", "㎡", "m²", "m2");
        var match = SquareMetres().Match(areaText);
        if (areaText.Length == 0)
        {
            Error(Column.Area, "面积没有填写。", "The area is empty.");
        }
        else if (!match.Success)
        {
            Error(Column.Area, $"面积“{areaText}”不是数字（单位平方米，最多两位小数，例如 89.57）。",
                $"The area \"{areaText}\" is not a number of square metres with at most two decimals (e.g. 89.57).");
        }
        else
        {
            string fraction = match.Groups[3].Value.PadRight(2, '0');
            if (match.Groups[1].Value.Length > 6 || (area = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) * 100 + long.Parse(fraction, CultureInfo.InvariantCulture)) <= 0 || area > MaxAreaDm2)
            {
                Error(Column.Area, $"面积“{areaText}”不合理：应大于 0、不超过 10000 平方米。", $"The area \"{areaText}\" must be above 0 and at most 10000 m².");
            }
        }
        string relationText = columns.Cell(record, Column.Relation);
        if (!Relations.TryGetValue(relationText, out var relation))
        {
            Error(Column.Relation, relationText.Length == 0 ? "业主/租户没有填写。" : $"“{relationText}”应为 业主、共有人、家属 或 租户。",
                relationText.Length == 0 ? "Owner/tenant is empty." : $"\"{relationText}\" must be one of 业主 (owner), 共有人 (co-owner), 家属 (family), 租户 (tenant).");
        }
        string name = columns.Cell(record, Column.Name);
        if (name.Length == 0)
        {
            Error(Column.Name, "姓名没有填写。", "The name is empty.");
        }
        else if (name.Length > 50)
        {
            Error(Column.Name, "姓名不能超过 50 个字。", "The name may have at most 50 characters.");
        }
        string phoneText = columns.Cell(record, Column.Phone);
        string phone = "";
        if (phoneText.Length > 0)
        {
            phone = Logins.NormalizePhone(phoneText) ?? (Landline().IsMatch(phoneText.Replace(" ", "")) ? phoneText.Replace(" ", "") : "");
            if (phone.Length == 0)
            {
                Error(Column.Phone, $"电话“{phoneText}”应为 11 位手机号或带区号的固定电话。", $"The phone \"{phoneText}\" must be an 11-digit mobile or a landline with area code.");
            }
        }
        return errors.Count > before ? null : new RollRow(rowNumber, building, unit, room, area, relation, name, phone);
    }

    private static string Strip(string value, params string[] suffixes)
    {
        string result = value.Trim();
        foreach (string suffix in suffixes)
        {
            if (result.Length > suffix.Length && result.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return result[..^suffix.Length].Trim();
            }
        }
        return result;
    }
}

/// <summary>A household's address within its courtyard, as the roll names it.</summary>
[GenerateSerializer, Immutable]
public readonly record struct HouseholdKey([property: Id(0)] string Building, [property: Id(1)] string Unit, [property: Id(2)] string Room)
{
    /// <summary>"3栋2单元501", or "3栋501" without a unit.</summary>
    public string DoorLabel => Unit.Length > 0 ? $"{Building}栋{Unit}单元{Room}" : $"{Building}栋{Room}";
}
