using System.Net;
using System.Text.RegularExpressions;
using Courtyard.Portal.Tests.Support;
using Courtyard.Testing;
using StackExchange.Redis;

namespace Courtyard.Portal.Tests.Replicas;

/// <summary>
/// Several portal replicas behind one address must read each other's cookies and antiforgery tokens: with
/// Courtyard:Portal:DataProtectionRedis they share one key ring in Redis (list key courtyard:portal:data-protection-keys).
/// </summary>
public sealed partial class DataProtectionTests
{
    [Fact]
    public async Task Replicas_sharing_redis_accept_each_others_forms_and_a_replica_with_its_own_keys_does_not()
    {
        await using var redis = await TestRedis.StartAsync();
        var shared = new Dictionary<string, string?>
        {
            ["Courtyard:Services:directory"] = "http://127.0.0.1:9",
            ["Courtyard:Services:councils"] = "http://127.0.0.1:9",
            ["Courtyard:Portal:DataProtectionRedis"] = redis.ConnectionString,
        };
        await using var first = await StandalonePortal.StartAsync(shared);
        await using var second = await StandalonePortal.StartAsync(shared);
        await using var alone = await StandalonePortal.StartAsync(new Dictionary<string, string?>(shared) { ["Courtyard:Portal:DataProtectionRedis"] = null });

        var cookies = new CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        string form = await browser.GetStringAsync(new Uri(first.HttpAddress, "/account/sign-in"));
        string token = AntiforgeryField().Match(form).Groups[1].Value;
        Assert.NotEmpty(token);

        using var onSecond = await PostLanguageAsync(browser, second.HttpAddress, token);
        using var onAlone = await PostLanguageAsync(browser, alone.HttpAddress, token);

        Assert.Equal(HttpStatusCode.Redirect, onSecond.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, onAlone.StatusCode);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.True(await connection.GetDatabase().ListLengthAsync("courtyard:portal:data-protection-keys") >= 1);
    }

    [Fact]
    public async Task A_form_posted_without_its_antiforgery_token_is_refused_and_does_nothing()
    {
        await using var portal = await StandalonePortal.StartAsync(new Dictionary<string, string?>
        {
            ["Courtyard:Services:directory"] = "http://127.0.0.1:9",
            ["Courtyard:Services:councils"] = "http://127.0.0.1:9",
        });
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };

        using var language = await browser.PostAsync(new Uri(portal.HttpAddress, "/preferences/language"),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["language"] = "en", ["returnUrl"] = "/" }));
        using var signIn = await browser.PostAsync(new Uri(portal.HttpAddress, "/account/sign-in"),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["_handler"] = "sign-in", ["Form.Login"] = "13800000000", ["Form.Password"] = "x" }));

        Assert.Equal(HttpStatusCode.BadRequest, language.StatusCode);
        Assert.False(language.Headers.TryGetValues("Set-Cookie", out _));
        Assert.Equal(HttpStatusCode.BadRequest, signIn.StatusCode);
    }

    private static Task<HttpResponseMessage> PostLanguageAsync(HttpClient browser, Uri portal, string token) =>
        browser.PostAsync(new Uri(portal, "/preferences/language"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["language"] = "en", ["returnUrl"] = "/", ["__RequestVerificationToken"] = token,
        }));

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
