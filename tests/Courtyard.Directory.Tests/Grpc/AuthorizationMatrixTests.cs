using Courtyard.Directory.Grpc;
using Courtyard.Directory.Tests.Support;
using Courtyard.Testing.Authorization;
using Courtyard.Testing.Services;

namespace Courtyard.Directory.Tests.Grpc;

/// <summary>Every Directory RPC × every role and no token × own, sibling and other courtyard ends exactly as DirectoryAccess declares.</summary>
public abstract class AuthorizationMatrixTests(TestStorage storage)
{
    public sealed class OnSqlite() : AuthorizationMatrixTests(TestStorage.Sqlite);

    public sealed class OnPostgres() : AuthorizationMatrixTests(TestStorage.Postgres);

    [Fact]
    public async Task Every_rpc_for_every_role_in_every_courtyard_ends_as_declared()
    {
        await using var host = await DirectoryTestHost.StartAsync(storage: storage);
        var territory = await TestTerritory.CreateAsync(host, await host.SignInAdminAsync());
        var matrix = new AuthorizationMatrix
        {
            Table = DirectoryAccess.Table,
            Invoker = host.Channel.CreateCallInvoker(),
            Tokens = host.Tokens,
            Territory = territory,
            SampleId = (kind, place) =>
            {
                string courtyard = territory.CourtyardAt(place);
                string key = courtyard["cy_".Length..];
                return kind switch
                {
                    "household" => $"hh_{key}.1",
                    "resident" => $"rs_{key}.1",
                    "role_grant" => $"rg_{courtyard}.1",
                    _ => courtyard,
                };
            },
            Prepare = (method, request) =>
            {
                if (method.InputType.FindFieldByName("account_id") is { } account)
                {
                    account.Accessor.SetValue(request, "ac_nobody");
                }
            },
        };

        var mismatches = await matrix.RunAsync();

        Assert.True(mismatches.Count == 0, string.Join(Environment.NewLine, mismatches));
    }

    /// <summary>EventAdmin (every service host maps it with its event bus) answers platform admins only; no token is UNAUTHENTICATED.</summary>
    [Fact]
    public async Task EventAdmin_is_for_platform_admins_only()
    {
        await using var host = await DirectoryTestHost.StartAsync(storage: storage);
        var territory = await TestTerritory.CreateAsync(host, await host.SignInAdminAsync());
        var matrix = new AuthorizationMatrix
        {
            Table = Courtyard.ServiceDefaults.EventAdminAccess.Table,
            Invoker = host.Channel.CreateCallInvoker(),
            Tokens = host.Tokens,
            Territory = territory,
            SampleId = (_, _) => DirectoryOptions.ServiceName,
        };

        var mismatches = await matrix.RunAsync();

        Assert.True(mismatches.Count == 0, string.Join(Environment.NewLine, mismatches));
    }
}
