using Courtyard.Portal.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Courtyard.Portal.Tests.Votes;

/// <summary>
/// Casting a ballot on the portal: as plain HTML without JavaScript, with a receipt to keep; a ballot whose answer was
/// lost on the way back is neither lost nor counted twice when sent again; a ballot that never arrived is never shown
/// as cast; the tally on an open page follows new ballots within a second; a refusal shows the service's Chinese words.
/// </summary>
public sealed class VoteTests : IAsyncLifetime
{
    private const int Households = 6;
    private PortalHost host = default!;
    private TestCourtyard courtyard = default!;
    private Chromium chromium = default!;
    private string voteId = "";
    private readonly Screenshots screenshots = new(nameof(VoteTests));

    public async Task InitializeAsync()
    {
        host = await PortalHost.StartAsync();
        courtyard = await TestCourtyard.CreateAsync(host);
        await courtyard.ImportRollAsync(Households);
        await courtyard.ResidentAsync(0, "张阿姨");
        await courtyard.ResidentAsync(1, "李师傅");
        (_, voteId) = await courtyard.OpenVoteAsync("东门加装自行车棚");
        chromium = await Chromium.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await chromium.DisposeAsync();
        courtyard.Dispose();
        await host.DisposeAsync();
    }

    [Fact]
    public async Task A_resident_votes_without_javascript_and_keeps_the_receipt()
    {
        var page = await chromium.OpenAsync(host.HttpAddress, javaScript: false);
        await page.SignInAsync(TestCourtyard.Phone(0), TestCourtyard.ResidentPassword);
        await page.GetByRole(AriaRole.Link, new() { Name = "去投票" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("东门加装自行车棚");
        await screenshots.TakeAsync(page, "vote-page-no-js");

        await page.GetByLabel("同意").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "投票", Exact = true }).ClickAsync();

        await Assertions.Expect(page.Status()).ToContainTextAsync("您的投票已记录");
        string receipt = await page.ReceiptNumberAsync();
        await Assertions.Expect(page.Locator(".tally-figure").First).ToHaveTextAsync($"1 / {Households} 票");
        await screenshots.TakeAsync(page, "receipt-no-js");

        await page.GetByRole(AriaRole.Link, new() { Name = "保存或打印回执" }).ClickAsync();
        await Assertions.Expect(page.Locator(".receipt")).ToContainTextAsync(receipt);
        await Assertions.Expect(page.Locator(".receipt")).ToContainTextAsync("是：这是最后一次投票，计入结果");

        // Back on the vote page later: it says the household has voted, and the form changes the ballot.
        await page.GotoAsync($"/votes/{voteId}");
        await Assertions.Expect(page.Locator(".current-ballot")).ToContainTextAsync("第 1 次");
        await page.GetByLabel("反对").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "投票", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator(".receipt")).ToContainTextAsync("2");
        await Assertions.Expect(page.Locator(".tally-counts")).ToContainTextAsync("反对1");
    }

    [Fact]
    public async Task A_ballot_whose_answer_was_lost_is_recorded_once_and_sending_it_again_returns_the_same_receipt()
    {
        var page = await chromium.OpenAsync(host.HttpAddress, javaScript: false);
        await page.SignInAsync(TestCourtyard.Phone(1), TestCourtyard.ResidentPassword);
        await page.GotoAsync($"/votes/{voteId}");
        await page.GetByLabel("同意").CheckAsync();

        // The ballot reaches the portal and Councils, but the answer never reaches the phone: the connection drops and
        // the browser shows its own error page, so the resident cannot know whether the ballot was cast.
        int posts = 0;
        await page.RouteAsync($"**/votes/{voteId}", async route =>
        {
            if (route.Request.Method == "POST" && Interlocked.Increment(ref posts) == 1)
            {
                // Whatever the fetch does on a loaded machine, the browser must see the connection drop.
                try { await route.FetchAsync(new() { Timeout = 60_000 }); }
                finally { await route.AbortAsync("connectionreset"); }
                return;
            }
            await route.ContinueAsync();
        });
        await page.GetByRole(AriaRole.Button, new() { Name = "投票", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(url => url.StartsWith("chrome-error:", StringComparison.Ordinal), new() { Timeout = 90_000 });
        Assert.Equal(1, posts);

        // The browser's own "reload" sends the same form again: the same ballot, the same request id.
        await page.ReloadAsync();

        await Assertions.Expect(page.Status()).ToContainTextAsync("您的投票已记录");
        await Assertions.Expect(page.Locator(".receipt")).ToContainTextAsync("第几次投票1");
        await Assertions.Expect(page.Locator(".tally-figure").First).ToHaveTextAsync($"1 / {Households} 票");
        var tally = await courtyard.Councils.GetTallyAsync(new Courtyard.Councils.V1.GetTallyRequest { CourtyardId = courtyard.CourtyardId, VoteId = voteId }, await courtyard.ChairAsync());
        Assert.Equal(1, tally.Participating.Voters);
        Assert.Equal(1, tally.InFavour.Voters);
    }

    [Fact]
    public async Task A_ballot_the_service_never_confirmed_is_not_shown_as_cast_and_sending_it_again_records_it_once()
    {
        // A portal replica whose connection to Councils runs through a relay the test controls.
        await using var proxy = new CuttableProxy(host.GrpcAddress);
        await using var replica = await StandalonePortal.StartAsync(new Dictionary<string, string?>
        {
            ["Courtyard:Services:directory"] = host.GrpcAddress.ToString(),
            ["Courtyard:Services:councils"] = proxy.Address.ToString(),
            ["Courtyard:Portal:CallTimeout"] = "00:00:03",
        });
        var page = await chromium.OpenAsync(replica.HttpAddress, javaScript: false);
        await page.SignInAsync(TestCourtyard.Phone(0), TestCourtyard.ResidentPassword);
        await page.GotoAsync($"/votes/{voteId}");
        await page.GetByLabel("同意").CheckAsync();

        // The ballot reaches Councils, which records it, but its answer is lost on the way back to the portal.
        proxy.SwallowAnswers();
        await page.GetByRole(AriaRole.Button, new() { Name = "投票", Exact = true }).ClickAsync();
        await Expect(page.Alert()).ToContainTextAsync("未能确认是否已办理");
        await Expect(page.Alert()).ToContainTextAsync("不会重复计票");
        await Expect(page.Status()).ToHaveCountAsync(0);
        await Expect(page.Locator(".kept-choice")).ToHaveTextAsync("您的选择：同意");
        await screenshots.TakeAsync(page, "outcome-unknown");

        // The connection is back; the resident presses "投票" again on the same form.
        proxy.Restore();
        await page.GetByRole(AriaRole.Button, new() { Name = "投票", Exact = true }).ClickAsync();
        await Expect(page.Status()).ToContainTextAsync("您的投票已记录");
        await Expect(page.Locator(".receipt")).ToContainTextAsync("第几次投票1");
        var tally = await courtyard.Councils.GetTallyAsync(new Courtyard.Councils.V1.GetTallyRequest { CourtyardId = courtyard.CourtyardId, VoteId = voteId }, await courtyard.ChairAsync());
        Assert.Equal(1, tally.Participating.Voters);
    }
}
