using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Courtyard.Authorization;
using Courtyard.Authorization.Claims;
using Courtyard.Authorization.Enforcement;
using Courtyard.Authorization.Territory;
using Courtyard.Common.V1;
using Courtyard.Directory.Tests.Support;
using Courtyard.Directory.V1;
using Courtyard.Testing.Authorization;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Courtyard.Directory.Tests.Tokens;

public sealed class TokenTests
{
    [Fact]
    public async Task The_published_key_set_carries_the_kid_and_no_private_part()
    {
        await using var host = await DirectoryTestHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.HttpAddress };

        var discovery = await http.GetFromJsonAsync<JsonElement>("/.well-known/openid-configuration");
        var keys = await http.GetFromJsonAsync<JsonElement>(new Uri(discovery.GetProperty("jwks_uri").GetString()!).PathAndQuery);

        Assert.Equal("courtyard-directory", discovery.GetProperty("issuer").GetString());
        var key = Assert.Single(keys.GetProperty("keys").EnumerateArray());
        Assert.Equal("test-key-1", key.GetProperty("kid").GetString());
        Assert.Equal("ES256", key.GetProperty("alg").GetString());
        Assert.False(key.TryGetProperty("d", out _));
    }

    [Fact]
    public async Task Another_service_validates_directory_tokens_from_the_published_key_set()
    {
        await using var host = await DirectoryTestHost.StartAsync();
        string token = await host.SignInAdminAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration["Courtyard:Authentication:DirectoryAddress"] = host.HttpAddress.ToString();
        builder.AddCourtyardAuthorization();
        builder.Services.AddSingleton<ITerritoryPlacements, NoPlacements>();
        await using var councils = builder.Build();
        councils.MapGet("/me", (System.Security.Claims.ClaimsPrincipal user) => user.GetCourtyardCaller().AccountId)
            .RequireAuthorization(RpcAccessEndpointConventions.SignedInPolicy);
        await councils.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(councils.Urls.Single()) };

        using var anonymous = await http.GetAsync("/me");
        using var signedIn = new HttpRequestMessage(HttpMethod.Get, "/me") { Headers = { { "Authorization", "Bearer " + token } } };
        using var answer = await http.SendAsync(signedIn);
        using var forged = new HttpRequestMessage(HttpMethod.Get, "/me") { Headers = { { "Authorization", "Bearer " + new TestTokens("test-key-1").Mint("ac_forged", []) } } };
        using var refused = await http.SendAsync(forged);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, answer.StatusCode);
        Assert.StartsWith("ac_", await answer.Content.ReadAsStringAsync());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        await councils.StopAsync();
    }

    [Fact]
    public async Task After_rotation_new_tokens_carry_the_new_kid_and_old_tokens_stay_valid()
    {
        using var next = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var activatesAt = DateTimeOffset.UtcNow.AddSeconds(3);
        await using var host = await DirectoryTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Directory:Signing:Keys:1:KeyId"] = "test-key-2",
            ["Directory:Signing:Keys:1:PrivateKeyPem"] = next.ExportPkcs8PrivateKeyPem(),
            ["Directory:Signing:Keys:1:ActivatesAt"] = activatesAt.ToString("O"),
        });
        string before = await host.SignInAdminAsync();
        await Task.Delay(activatesAt - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200));

        string after = await host.SignInAdminAsync();

        Assert.Equal("test-key-1", new JsonWebToken(before).Kid);
        Assert.Equal("test-key-2", new JsonWebToken(after).Kid);
        foreach (string token in new[] { before, after })
        {
            var me = await host.Client().WhoAmIAsync(new WhoAmIRequest(), DirectoryTestHost.Bearer(token));
            Assert.Equal(DirectoryTestHost.AdminLogin, me.Login);
        }
    }

    [Fact]
    public async Task The_embedded_key_is_generated_once_and_kept_in_the_data_folder()
    {
        string dataDir = Path.Combine(Path.GetTempPath(), "courtyard-directory-tests", Guid.NewGuid().ToString("N"));
        try
        {
            string token;
            await using (var first = await DirectoryTestHost.StartAsync(dataDir: dataDir, signingKeyFromConfiguration: false))
            {
                token = await first.SignInAdminAsync();
            }
            Assert.True(File.Exists(Path.Combine(dataDir, "directory-signing-keys.json")));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDir, "directory-signing-keys.json")));
            }

            await using var second = await DirectoryTestHost.StartAsync(dataDir: dataDir, signingKeyFromConfiguration: false);
            // Same key after the restart: the token from before is still valid (the bootstrap admin gets the same account id).
            var me = await second.Client().WhoAmIAsync(new WhoAmIRequest(), DirectoryTestHost.Bearer(token));
            Assert.Equal(DirectoryTestHost.AdminLogin, me.Login);
            Assert.Equal(new JsonWebToken(token).Kid, new JsonWebToken(await second.SignInAdminAsync()).Kid);
        }
        finally
        {
            System.IO.Directory.Delete(dataDir, recursive: true);
        }
    }

    [Theory]
    [InlineData("expired")]
    [InlineData("audience")]
    [InlineData("issuer")]
    [InlineData("unknown key")]
    [InlineData("garbage")]
    public async Task A_token_that_fails_any_check_is_unauthenticated(string flaw)
    {
        await using var host = await DirectoryTestHost.StartAsync();
        GrantClaim[] admin = [new(Role.PlatformAdmin, GrantClaim.Everywhere)];
        string token = flaw switch
        {
            "expired" => host.Tokens.Mint("ac_x", admin, now: DateTimeOffset.UtcNow.AddHours(-1)),
            "audience" => host.Tokens.Mint("ac_x", admin, audience: "someone-else"),
            "issuer" => host.Tokens.Mint("ac_x", admin, issuer: "someone-else"),
            "unknown key" => new TestTokens("test-key-1").Mint("ac_x", admin),
            _ => "not.a.token",
        };

        var refused = await Assert.ThrowsAsync<RpcException>(() => host.Client().ListTerritoryChildrenAsync(
            new ListTerritoryChildrenRequest(), DirectoryTestHost.Bearer(token)).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.StartsWith("请先登录", refused.Status.Detail);
        Assert.Equal("unauthenticated", refused.Trailers.GetValue(RpcAccessInterceptor.DecisionTrailer));
    }

    private sealed class NoPlacements : ITerritoryPlacements
    {
        public ValueTask<TerritoryRef?> FindAsync(string nodeId, CancellationToken cancellationToken) => ValueTask.FromResult<TerritoryRef?>(null);
    }
}
