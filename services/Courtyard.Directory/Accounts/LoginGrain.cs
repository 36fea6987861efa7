namespace Courtyard.Directory.Accounts;

/// <summary>A login (normalized: <see cref="Logins"/>), keyed by itself: which account it belongs to. One account per login.</summary>
public interface ILoginGrain : IGrainWithStringKey
{
    /// <summary>The account, or null when the login is free.</summary>
    Task<string?> GetAccountAsync();

    /// <summary>Takes the login for <paramref name="accountId"/> if it is free; returns whoever holds it afterwards.</summary>
    Task<string> ClaimAsync(string accountId);
}

[GenerateSerializer]
public sealed class LoginState
{
    [Id(0)] public string AccountId { get; set; } = "";
}

[GrainType("directory.login")]
internal sealed class LoginGrain(
    [PersistentState("login", DirectoryOptions.ServiceName)] IPersistentState<LoginState> state) : Grain, ILoginGrain
{
    public Task<string?> GetAccountAsync() => Task.FromResult(state.State.AccountId is { Length: > 0 } id ? id : null);

    public async Task<string> ClaimAsync(string accountId)
    {
        if (state.State.AccountId.Length == 0)
        {
            state.State.AccountId = accountId;
            await state.WriteStateAsync();
        }
        return state.State.AccountId;
    }
}
