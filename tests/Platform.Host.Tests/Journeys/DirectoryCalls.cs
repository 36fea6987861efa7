using Courtyard.Common.V1;
using Courtyard.Directory.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using DirectoryClient = Courtyard.Directory.V1.Directory.DirectoryClient;

namespace Platform.Host.Tests.Journeys;

/// <summary>What a committee and a platform admin do in Directory, through its gRPC API, for the journeys across services.</summary>
public sealed class DirectoryCalls(GrpcChannel channel)
{
    public DirectoryClient Client { get; } = new(channel);

    public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    public async Task<string> SignInAsync(string login, string password) =>
        (await Client.SignInAsync(new SignInRequest { Login = login, Password = password })).AccessToken;

    public async Task<string> CreateNodeAsync(string admin, string parentId, TerritoryLevel level, string name) =>
        (await Client.CreateTerritoryNodeAsync(new CreateTerritoryNodeRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), ParentId = parentId, Level = level, Name = new LocalizedText { ZhCn = name },
        }, Bearer(admin))).Id;

    public async Task ImportAsync(string token, string courtyardId, string csv)
    {
        using var call = Client.ImportRoll(new ImportRollRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), CourtyardId = courtyardId, Csv = ByteString.CopyFromUtf8(csv),
        }, Bearer(token), DateTime.UtcNow.AddMinutes(2));
        await foreach (var _ in call.ResponseStream.ReadAllAsync())
        {
        }
    }

    public async Task<IReadOnlyList<Resident>> ResidentsAsync(string token, string courtyardId) =>
        (await Client.ListResidentsAsync(new ListResidentsRequest { CourtyardId = courtyardId, Page = new PageRequest { PageSize = 500 } }, Bearer(token))).Residents;

    /// <summary>An account for a resident on the roll, as the committee creates one for a person without a phone.</summary>
    public async Task<CreatedAccount> AccountForAsync(string admin, string residentId) =>
        await Client.CreateResidentAccountAsync(new CreateResidentAccountRequest { RequestId = Guid.NewGuid().ToString("N"), ResidentId = residentId }, Bearer(admin));

    public Task<string> SignInAsync(CreatedAccount account) => SignInAsync(account.Login, account.InitialPassword);

    /// <summary>A staff account (officials, social workers) holding <paramref name="role"/> in <paramref name="scopeId"/>, signed in.</summary>
    public async Task<string> StaffAsync(string admin, string scopeId, Role role, string login)
    {
        var created = await Client.CreateStaffAccountAsync(new CreateStaffAccountRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), ScopeId = scopeId, Login = login, DisplayName = "测试干部",
        }, Bearer(admin));
        await GrantAsync(admin, created.AccountId, role, scopeId);
        return await SignInAsync(created.Login, created.InitialPassword);
    }

    public Task GrantAsync(string admin, string accountId, Role role, string scopeId) =>
        Client.GrantRoleAsync(new GrantRoleRequest { RequestId = Guid.NewGuid().ToString("N"), AccountId = accountId, Role = role, ScopeId = scopeId }, Bearer(admin)).ResponseAsync;
}
