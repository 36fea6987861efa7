using System.Text;
using System.Text.RegularExpressions;
using Courtyard.Portal.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Courtyard.Portal.Tests.Journey;

/// <summary>
/// The whole journey of issue 11 in one courtyard, each person in a browser of their own: the committee chair imports
/// the roll and prints invitation slips; two residents join with them; a proposal is tabled under a rule its kind
/// allows, discussed and petitioned, voted on (online, changed, on paper and by proxy) while the tally moves live; the
/// chair closes the vote; the notice of the passed proposal is printed and a visitor who is not signed in verifies the
/// printout; an objection is filed and answered. Every page on the way passes axe-core.
/// </summary>
public sealed partial class JourneyTests : IAsyncLifetime
{
    private const int Households = 8;
    private PortalHost host = default!;
    private TestCourtyard courtyard = default!;
    private Chromium chromium = default!;
    private readonly Screenshots screenshots = new(nameof(JourneyTests));

    public async Task InitializeAsync()
    {
        host = await PortalHost.StartAsync();
        courtyard = await TestCourtyard.CreateAsync(host);
        chromium = await Chromium.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await chromium.DisposeAsync();
        courtyard.Dispose();
        await host.DisposeAsync();
    }

    [Fact]
    public async Task Two_residents_and_the_committee_take_a_proposal_from_the_roll_to_a_verified_printed_notice()
    {
        var chair = await chromium.OpenAsync(host.HttpAddress);
        var zhang = await chromium.OpenAsync(host.HttpAddress);
        var li = await chromium.OpenAsync(host.HttpAddress);
        var visitor = await chromium.OpenAsync(host.HttpAddress);

        // ---- The committee: roll, invitations ----
        await chair.SignInAsync(TestCourtyard.ChairLogin, courtyard.ChairPassword);
        await CheckAsync(chair, "home-chair");
        // Enhanced navigation (blazor.web.js): following a link swaps the page without reloading it.
        await chair.EvaluateAsync("() => window.notReloaded = true");
        await chair.GetByRole(AriaRole.Link, new() { Name = "院委会" }).ClickAsync();
        await Expect(chair.Locator("h1")).ToHaveTextAsync("院委会工作台");
        Assert.True(await chair.EvaluateAsync<bool>("() => window.notReloaded === true"), "the link reloaded the whole page");
        await CheckAsync(chair, "committee");

        await chair.GetByRole(AriaRole.Link, new() { Name = "导入名册" }).ClickAsync();
        string bad = TestCourtyard.RollCsv(Households).Replace("1,1,201,87.50", "1,1,201,八十七", StringComparison.Ordinal);
        await UploadRollAsync(chair, bad);
        await Expect(chair.Locator(".import-errors")).ToContainTextAsync("整份文件未导入");
        await Expect(chair.Locator(".import-errors tbody tr").First).ToContainTextAsync("4");
        await CheckAsync(chair, "roll-rejected");
        await UploadRollAsync(chair, TestCourtyard.RollCsv(Households));
        await Expect(chair.Locator(".import-run .message-ok")).ToContainTextAsync("导入完成");
        await Expect(chair.Locator(".import-run")).ToContainTextAsync($"新增 {Households} 户");
        Assert.Equal(await chair.Locator("#import-bar").GetAttributeAsync("max"), await chair.Locator("#import-bar").GetAttributeAsync("value"));
        await CheckAsync(chair, "roll-imported");

        await chair.GotoAsync("/committee/invitations");
        await chair.GetByRole(AriaRole.Button, new() { Name = "生成邀请单" }).ClickAsync();
        await Expect(chair.Locator(".slip")).ToHaveCountAsync(Households);
        await CheckAsync(chair, "invitation-slips");
        await chair.EmulateMediaAsync(new() { Media = Media.Print });
        await Expect(chair.Locator(".site-header")).ToBeHiddenAsync();
        await Expect(chair.Locator("main form")).ToBeHiddenAsync();
        await screenshots.TakeAsync(chair, "invitation-slips-printed");
        await chair.EmulateMediaAsync(new() { Media = Media.Screen });
        string zhangLink = await SlipLinkAsync(chair, TestCourtyard.Door(0));
        string liLink = await SlipLinkAsync(chair, TestCourtyard.Door(1));

        // ---- Two residents join with their slips (the QR code's address) ----
        await JoinAsync(zhang, zhangLink, "张阿姨", TestCourtyard.Phone(0));
        await JoinAsync(li, liLink, "李师傅", TestCourtyard.Phone(1));

        // ---- The committee tables a proposal: the kind decides the rule ----
        await Eventually(chair, "/committee", page => page.Locator("main").GetByText($"名册：{Households} 户").IsVisibleAsync(), "Councils knows the roll");
        await chair.GetByRole(AriaRole.Link, new() { Name = "提出议题" }).ClickAsync();
        await CheckAsync(chair, "table-kinds");
        await chair.GetByRole(AriaRole.Link, new() { Name = "业主共同决定：筹集维修资金" }).ClickAsync();
        await Expect(chair.Locator("#rule option")).ToHaveTextAsync(["民法典第278条：双四分之三"]);
        await chair.GetByRole(AriaRole.Link, new() { Name = "改选类型" }).ClickAsync();
        await chair.GetByRole(AriaRole.Link, new() { Name = "其他院落事项" }).ClickAsync();
        await Expect(chair.Locator("#rule option")).ToHaveTextAsync(["简单多数"]);
        await chair.GetByLabel("标题").FillAsync("东门加装自行车棚");
        await chair.GetByLabel("内容").FillAsync("在东门内侧空地加装一处有顶的自行车棚。\n费用由公共收益列支，约 8,000 元。");
        await chair.GetByLabel("投票人").SelectOptionAsync(new SelectOptionValue { Label = "每户一票" });
        await chair.GetByLabel("允许主任提前结束表决").CheckAsync();
        await CheckAsync(chair, "table-form");
        await chair.GetByRole(AriaRole.Button, new() { Name = "提出议题" }).ClickAsync();
        await Expect(chair.Status()).ToContainTextAsync("议题已提出");
        string deskUrl = chair.Url.Split('?')[0];

        // ---- Residents discuss it, and start and co-sign a petition ----
        await zhang.GetByRole(AriaRole.Link, new() { Name = "议题" }).ClickAsync();
        await CheckAsync(zhang, "proposals");
        await zhang.GetByRole(AriaRole.Link, new() { Name = "东门加装自行车棚" }).ClickAsync();
        await zhang.GetByLabel("您的意见").FillAsync("建议车棚加装照明，晚上更安全。");
        await zhang.GetByRole(AriaRole.Button, new() { Name = "提交意见" }).ClickAsync();
        await Expect(zhang.Status()).ToContainTextAsync("您的意见已提交");
        await Expect(zhang.Locator(".comments")).ToContainTextAsync("建议车棚加装照明");
        await CheckAsync(zhang, "proposal-discussion");

        await li.GotoAsync("/proposals/petition");
        await li.GetByLabel("标题").FillAsync("增设快递柜");
        await li.GetByLabel("内容").FillAsync("在南门保安室旁增设一组快递柜。");
        await CheckAsync(li, "petition-form");
        await li.GetByRole(AriaRole.Button, new() { Name = "发起联名" }).ClickAsync();
        await Expect(li.Locator("h1")).ToHaveTextAsync("增设快递柜");
        string petitionUrl = li.Url;
        await zhang.GotoAsync(petitionUrl);
        await zhang.GetByRole(AriaRole.Button, new() { Name = "我家联名支持" }).ClickAsync();
        await Expect(zhang.Status()).ToContainTextAsync("您家已联名");
        await CheckAsync(zhang, "petition-co-signed");

        // ---- The vote opens; residents vote and change their minds; the tally moves live ----
        await chair.GotoAsync(deskUrl);
        await chair.GetByRole(AriaRole.Button, new() { Name = "开启表决" }).ClickAsync();
        await Expect(chair.Status()).ToContainTextAsync("表决已开启");

        await zhang.GotoAsync("/");
        await zhang.GetByRole(AriaRole.Link, new() { Name = "去投票" }).ClickAsync();
        await CheckAsync(zhang, "vote");
        await zhang.GetByLabel("同意").CheckAsync();
        await zhang.GetByRole(AriaRole.Button, new() { Name = "投票", Exact = true }).ClickAsync();
        await Expect(zhang.Status()).ToContainTextAsync("您的投票已记录");
        await Expect(zhang.Locator(".tally-figure").First).ToHaveTextAsync($"1 / {Households} 户".Replace("户", "票", StringComparison.Ordinal));
        await CheckAsync(zhang, "vote-receipt");
        string screenshot = await screenshots.TakeAsync(zhang, "resident-vote");

        await li.GotoAsync(zhang.Url);
        await li.GetByLabel("反对").CheckAsync();
        var cast = System.Diagnostics.Stopwatch.StartNew();
        await li.GetByRole(AriaRole.Button, new() { Name = "投票", Exact = true }).ClickAsync();
        await Expect(li.Status()).ToContainTextAsync("您的投票已记录");
        // Zhang's page, untouched: its tally shows Li's ballot by itself.
        await Expect(zhang.Locator(".tally-figure").First).ToHaveTextAsync($"2 / {Households} 票", new() { Timeout = 10_000 });
        Console.WriteLine($"live tally: a ballot reached another resident's open page {cast.Elapsed.TotalMilliseconds:F0} ms after the click");
        await li.GetByLabel("同意").CheckAsync();
        await li.GetByRole(AriaRole.Button, new() { Name = "投票", Exact = true }).ClickAsync();
        await Expect(li.Locator(".receipt")).ToContainTextAsync("第几次投票2");

        // ---- The committee enters a paper and a proxy ballot, and watches participation ----
        await chair.GotoAsync(deskUrl);
        await chair.GetByLabel("投票的户").SelectOptionAsync(new SelectOptionValue { Label = TestCourtyard.Door(2) });
        await chair.GetByLabel("同意").CheckAsync();
        await chair.GetByLabel("纸质票", new() { Exact = true }).CheckAsync();
        await chair.GetByRole(AriaRole.Button, new() { Name = "录入选票" }).ClickAsync();
        await Expect(chair.Alert()).ToContainTextAsync("请填写纸质表的编号");
        await chair.GetByLabel("纸质票编号").FillAsync("P-0003");
        await chair.GetByRole(AriaRole.Button, new() { Name = "录入选票" }).ClickAsync();
        await Expect(chair.Status()).ToContainTextAsync("选票已录入");

        await chair.GetByLabel("投票的户").SelectOptionAsync(new SelectOptionValue { Label = TestCourtyard.Door(4) });
        await chair.GetByLabel("反对").CheckAsync();
        await chair.GetByLabel("委托投票").CheckAsync();
        await chair.GetByLabel("受托人").SelectOptionAsync(new SelectOptionValue { Index = 6 });
        await chair.GetByLabel("见证人").SelectOptionAsync(new SelectOptionValue { Index = 7 });
        await chair.GetByLabel("委托书编号").FillAsync("W-0005");
        await chair.GetByLabel("委托原因").FillAsync("行动不便，委托邻居代投");
        await chair.GetByRole(AriaRole.Button, new() { Name = "录入选票" }).ClickAsync();
        await Expect(chair.Status()).ToContainTextAsync("选票已录入");
        await Expect(chair.Locator(".tally-figure").First).ToHaveTextAsync($"4 / {Households} 票");
        await Expect(chair.Locator(".tally-channels")).ToContainTextAsync("纸质票 1 张，委托票 1 张");
        await CheckAsync(chair, "desk-voting");

        // ---- The chair closes the vote; the result is posted, printed and verified ----
        await chair.GetByLabel("提前结束的原因").FillAsync("院落议事会当场表决结束");
        await chair.GetByRole(AriaRole.Button, new() { Name = "结束表决并公示结果" }).ClickAsync();
        await Expect(chair.Status()).ToContainTextAsync("表决已结束");
        await Expect(chair.Locator(".tally-outcome")).ToHaveTextAsync("表决通过");
        await CheckAsync(chair, "desk-closed");
        await chair.GetByRole(AriaRole.Link, new() { Name = "打印结果公示" }).ClickAsync();
        await Expect(chair.Locator(".print-notice h1")).ToContainTextAsync("东门加装自行车棚");
        await CheckAsync(chair, "notice-print");
        await chair.EmulateMediaAsync(new() { Media = Media.Print });
        await Expect(chair.Locator(".print-toolbar")).ToBeHiddenAsync();
        byte[] pdf = await chair.PdfAsync(new() { Format = "A4", PrintBackground = false, Path = Path.Combine(Screenshots.Folder, nameof(JourneyTests), "notice.pdf") });
        Assert.StartsWith("%PDF", Encoding.ASCII.GetString(pdf, 0, 4));
        Assert.Equal(1, PageCount(pdf));
        string printedHash = Regex.Replace(await chair.Locator(".print-hash code").InnerTextAsync(), @"\s", "");
        string printedUrl = (await chair.Locator(".print-url").InnerTextAsync()).Trim();
        Assert.Equal(64, printedHash.Length);

        // A visitor, not signed in, scans the QR code (its address) and types the printed hash.
        await visitor.GotoAsync(printedUrl);
        await Expect(visitor.Locator("h1")).ToContainTextAsync("东门加装自行车棚");
        await Expect(visitor.Locator(".message-ok")).ToContainTextAsync("核对一致");
        await visitor.GetByLabel("打印件上的校验码").FillAsync(printedHash[..16].ToUpperInvariant());
        await visitor.GetByRole(AriaRole.Button, new() { Name = "核对" }).ClickAsync();
        await Expect(visitor.Locator(".message-ok")).ToContainTextAsync("核对一致");
        await CheckAsync(visitor, "notice-verified");
        await visitor.GetByLabel("打印件上的校验码").FillAsync(new string('0', 64));
        await visitor.GetByRole(AriaRole.Button, new() { Name = "核对" }).ClickAsync();
        await Expect(visitor.Locator(".message-refused")).ToContainTextAsync("不一致");
        await visitor.GetByRole(AriaRole.Link, new() { Name = "公示栏" }).Last.ClickAsync();
        await CheckAsync(visitor, "notice-board");

        // ---- Results with their explanation; an objection within the window, and the committee's answer ----
        await zhang.GetByRole(AriaRole.Link, new() { Name = "结果" }).ClickAsync();
        await Expect(zhang.Locator(".card").First).ToContainTextAsync("已通过");
        await CheckAsync(zhang, "results");
        await zhang.GetByRole(AriaRole.Link, new() { Name = "查看公示" }).First.ClickAsync();
        await zhang.GetByLabel("提出异议").FillAsync("纸质票 P-0003 的户主当天不在家，请核实。");
        await zhang.GetByRole(AriaRole.Button, new() { Name = "提交异议" }).ClickAsync();
        await Expect(zhang.Status()).ToContainTextAsync("您的异议已提交");
        await CheckAsync(zhang, "objection-filed");

        await chair.EmulateMediaAsync(new() { Media = Media.Screen });
        await chair.GotoAsync(zhang.Url.Split('?')[0]);
        await chair.GetByLabel("答复这条异议").FillAsync("已联系户主核实：纸质票由户主本人前一天填写，投入票箱。");
        await chair.GetByRole(AriaRole.Button, new() { Name = "发布答复" }).ClickAsync();
        await Expect(chair.Status()).ToContainTextAsync("答复已发布");
        await Expect(chair.Locator(".answer")).ToContainTextAsync("已联系户主核实");
        await CheckAsync(chair, "objection-answered");

        // The screenshot of the resident's vote page the README shows.
        File.Copy(screenshot, Path.Combine(Screenshots.Folder, "resident-vote.png"), overwrite: true);
    }

    private async Task CheckAsync(IPage page, string step)
    {
        await Accessibility.AssertNoSeriousViolationsAsync(page, step);
        await screenshots.TakeAsync(page, step);
    }

    private static async Task UploadRollAsync(IPage chair, string csv)
    {
        await chair.GetByLabel("名册文件（CSV）").SetInputFilesAsync(new FilePayload { Name = "名册.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(csv) });
        await chair.GetByRole(AriaRole.Button, new() { Name = "上传并导入" }).ClickAsync();
    }

    private static async Task<string> SlipLinkAsync(IPage chair, string door) =>
        (await chair.Locator(".slip").Filter(new() { HasText = door }).Locator(".slip-url").InnerTextAsync()).Trim();

    private async Task JoinAsync(IPage resident, string slipLink, string name, string phone)
    {
        await resident.GotoAsync(slipLink);
        await CheckAsync(resident, "join");
        await resident.GetByLabel("您的称呼").FillAsync(name);
        await resident.GetByLabel("业主", new() { Exact = true }).CheckAsync();
        await resident.GetByLabel("手机号（用来登录）").FillAsync(phone);
        await resident.GetByLabel("设置密码").FillAsync(TestCourtyard.ResidentPassword);
        await resident.GetByRole(AriaRole.Button, new() { Name = "加入并登录" }).ClickAsync();
        await Expect(resident.Locator("h1")).ToHaveTextAsync($"您好，{name}");
    }

    private static async Task Eventually(IPage page, string url, Func<IPage, Task<bool>> condition, string what) =>
        await Courtyard.Testing.Eventually.HoldsAsync(async () =>
        {
            await page.GotoAsync(url);
            return await condition(page);
        }, TimeSpan.FromSeconds(30), what);

    private static int PageCount(byte[] pdf) => PdfPage().Matches(Encoding.Latin1.GetString(pdf)).Count;

    [GeneratedRegex(@"/Type\s*/Page[^s]")]
    private static partial Regex PdfPage();
}
