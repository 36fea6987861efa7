using Courtyard.Grains;

namespace Courtyard.Grains.Tests.Worker;

public sealed class WorkerCounterState
{
    public long Count { get; set; }
}

public interface IWorkerCounterGrain : IGrainWithStringKey
{
    Task<long> Increment();
    Task<long> Get();
}

public sealed class WorkerCounterGrain(IPersistentState<WorkerCounterState> state) : Grain, IWorkerCounterGrain
{
    public async Task<long> Increment()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task<long> Get() => Task.FromResult(state.State.Count);
}

public interface IWorkerReminderGrain : IGrainWithStringKey
{
    Task RemindIn(string name, TimeSpan due);
}

public sealed class WorkerReminderGrain : Grain, IWorkerReminderGrain, IRemindable
{
    public Task RemindIn(string name, TimeSpan due) => RegisterOrUpdateReminderAsync(name, DateTimeOffset.UtcNow + due);

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Console.WriteLine($"fired {GrainKey} {reminderName} {status.DueAt:O} {status.CurrentTickTime:O}");
        return Task.CompletedTask;
    }
}
