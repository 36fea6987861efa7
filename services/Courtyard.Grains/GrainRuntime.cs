using System.Reflection;
using Courtyard.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Courtyard.Grains;

/// <summary>The grains of one process: registrations, activations, call dispatch. Also the <see cref="IGrainFactory"/>.</summary>
public sealed class GrainRuntime : IGrainFactory
{
    private readonly Dictionary<Type, GrainClass> classesByInterface = [];
    private readonly Dictionary<string, GrainClass> classesByName = [];
    private readonly Lazy<IStateStore> stateStore;
    private readonly Lazy<IReminderStore?> reminderStore;
    private long activationCount;
    private volatile bool stopping;

    internal GrainRuntime(IServiceProvider services, IOptions<GrainsOptions> options, GrainRegistry registry,
        IGrainStateSerializer serializer, IEnumerable<IOutboxCommitListener> outboxListeners)
    {
        Services = services;
        Options = options.Value;
        Serializer = serializer;
        OutboxListeners = outboxListeners.ToArray();
        Log = services.GetService<ILoggerFactory>()?.CreateLogger<GrainRuntime>() ?? NullLogger<GrainRuntime>.Instance;
        var classesByType = new Dictionary<Type, GrainClass>();
        foreach (var (grainInterface, classType, name) in registry.Registrations)
        {
            if (!classesByType.TryGetValue(classType, out var grainClass))
            {
                grainClass = new GrainClass(name ?? classType.Name, classType);
                if (!classesByName.TryAdd(grainClass.Name, grainClass))
                    throw new InvalidOperationException($"Two grain classes are registered under the name \"{grainClass.Name}\".");
                classesByType.Add(classType, grainClass);
            }
            if (!classesByInterface.TryAdd(grainInterface, grainClass))
                throw new InvalidOperationException($"Grain interface {grainInterface.Name} is registered twice.");
            grainClass.AddInterface(grainInterface);
        }
        stateStore = new(() => services.GetService<IStateStore>() ?? services.GetService<IStorageProvider>()?.State
            ?? throw new InvalidOperationException("Grains with persistent state need an IStateStore (or IStorageProvider) registered in DI."));
        reminderStore = new(() => services.GetService<IReminderStore>() ?? services.GetService<IStorageProvider>()?.Reminders);
    }

    /// <summary>Activations currently in memory.</summary>
    public long ActivationCount => Interlocked.Read(ref activationCount);

    internal IServiceProvider Services { get; }
    internal GrainsOptions Options { get; }
    internal IGrainStateSerializer Serializer { get; }
    internal IOutboxCommitListener[] OutboxListeners { get; }
    internal ILogger Log { get; }
    internal IStateStore StateStore => stateStore.Value;
    internal IReminderStore? ReminderStore => reminderStore.Value;
    internal IReminderStore RequiredReminderStore => ReminderStore
        ?? throw new InvalidOperationException("Reminders need an IReminderStore (or IStorageProvider) registered in DI.");

    public TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return CreateProxy<TGrainInterface>(key);
    }

    public TGrainInterface GetGrain<TGrainInterface>(Guid key) where TGrainInterface : IGrainWithGuidKey
        => CreateProxy<TGrainInterface>(key.ToString("D"));

    /// <summary>Deactivates activations idle for at least <paramref name="age"/> (default: the configured CollectionAge). Returns how many.</summary>
    public async Task<int> CollectIdleActivationsAsync(TimeSpan? age = null)
    {
        var now = Environment.TickCount64;
        var ageMs = (long)(age ?? Options.CollectionAge).TotalMilliseconds;
        var deactivations = new List<Task>();
        foreach (var grainClass in classesByName.Values)
            foreach (var activation in grainClass.Activations.Values)
                if (activation.TryCollect(now, ageMs) is { } task) deactivations.Add(task);
        await Task.WhenAll(deactivations);
        return deactivations.Count;
    }

    /// <summary>Deactivates every activation (host shutdown); calls arriving afterwards fail.</summary>
    public async Task DeactivateAllAsync(CancellationToken cancellationToken = default)
    {
        stopping = true;
        foreach (var grainClass in classesByName.Values)
            foreach (var activation in grainClass.Activations.Values)
                activation.RequestDeactivation(DeactivationReason.ShuttingDown);
        while (ActivationCount > 0 && classesByName.Values.Any(c => !c.Activations.IsEmpty) && !cancellationToken.IsCancellationRequested)
            await Task.Delay(20, CancellationToken.None);
    }

    internal bool TryGetClass(string grainTypeName, out GrainClass grainClass) => classesByName.TryGetValue(grainTypeName, out grainClass!);

    internal void Dispatch(GrainClass grainClass, string key, WorkItem item)
    {
        if (stopping)
        {
            item.Fail(new ObjectDisposedException(nameof(GrainRuntime), "The grain runtime is shutting down."));
            return;
        }
        grainClass.Activations.GetOrAdd(key, static (k, state) => new Activation(state.runtime, state.grainClass, k), (runtime: this, grainClass))
            .Enqueue(item);
    }

    /// <summary>Hands a work item that reached a departed activation to the current one (timer ticks die instead).</summary>
    internal void Forward(WorkItem item)
    {
        var from = item.Activation!;
        if (!item.ForwardOnDeactivation) return;
        Dispatch(from.Class, from.Key, item);
    }

    internal Task<TResult> WithCallTimeout<TResult>(Task<TResult> task, WorkItem call)
    {
        if (task.IsCompleted || Options.CallTimeout == Timeout.InfiniteTimeSpan) return task;
        return AwaitWithTimeout(task, call, Options.CallTimeout);

        static async Task<TResult> AwaitWithTimeout(Task<TResult> task, WorkItem call, TimeSpan timeout)
        {
            try
            {
                return await task.WaitAsync(timeout);
            }
            catch (TimeoutException) when (!task.IsCompleted)
            {
                throw new TimeoutException($"Grain call {call.Describe()} did not complete within {timeout.TotalSeconds:0.###} s.");
            }
        }
    }

    internal async Task DeliverReminderAsync(GrainClass grainClass, string key, string name, TickStatus status)
    {
        var tick = new ReminderTick(name, status);
        Dispatch(grainClass, key, tick);
        await WithCallTimeout(tick.Task, tick);
    }

    internal void OnActivated() => Interlocked.Increment(ref activationCount);
    internal void OnDeactivated() => Interlocked.Decrement(ref activationCount);

    private TGrainInterface CreateProxy<TGrainInterface>(string key)
    {
        if (!classesByInterface.TryGetValue(typeof(TGrainInterface), out var grainClass))
            throw new InvalidOperationException(
                $"Grain interface {typeof(TGrainInterface).Name} is not registered: add it with services.AddGrains(g => g.Add<{typeof(TGrainInterface).Name}, YourGrain>()).");
        var proxy = GrainProxyFactory<TGrainInterface>.Create();
        var grainProxy = (GrainProxy)(object)proxy!;
        grainProxy.Runtime = this;
        grainProxy.GrainClass = grainClass;
        grainProxy.Key = key;
        return proxy;
    }

    /// <summary>A reminder tick delivered to <see cref="IRemindable.ReceiveReminder"/> as one exclusive turn.</summary>
    private sealed class ReminderTick(string name, TickStatus status) : WorkItem
    {
        private readonly TaskCompletionSource<bool> completion = new();

        public Task<bool> Task => completion.Task;
        internal override TurnKind Kind => TurnKind.Exclusive;
        internal override string Describe() => $"{Activation?.Class.Name}({Activation?.Key}).ReceiveReminder({name})";
        internal override void Start(Activation activation) => _ = RunAsync(activation);
        internal override void Fail(Exception error) => completion.TrySetException(error);

        private async Task RunAsync(Activation activation)
        {
            EnterTurn(this);
            Exception? error = null;
            try
            {
                if (activation.Instance is not IRemindable remindable)
                    throw new InvalidOperationException($"Grain class {activation.Class.Name} received reminder \"{name}\" but does not implement IRemindable.");
                await remindable.ReceiveReminder(name, status);
            }
            catch (Exception e)
            {
                error = e;
            }
            activation.CompleteTurn(this, error);
            if (error is null) completion.SetResult(true);
            else completion.SetException(error);
        }
    }
}

/// <summary>The proxy behind every grain reference: each interface call becomes a turn of the grain's activation.</summary>
public class GrainProxy : DispatchProxy
{
    internal GrainRuntime Runtime = null!;
    internal GrainClass GrainClass = null!;
    internal string Key = null!;

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        => GrainClass.GetMethod(targetMethod!).Call(Runtime, GrainClass, Key, args);
}

/// <summary>
/// Creates proxies of one interface. DispatchProxy.Create goes through Activator each time (~0.4 µs); the generated proxy
/// type only needs its method table, so we compile a direct constructor call, falling back to DispatchProxy.Create.
/// </summary>
internal static class GrainProxyFactory<TGrainInterface>
{
    public static readonly Func<TGrainInterface> Create = Build();

    private static Func<TGrainInterface> Build()
    {
        static TGrainInterface Slow() => DispatchProxy.Create<TGrainInterface, GrainProxy>();
        try
        {
            var template = Slow()!;
            var type = template.GetType();
            var methodTable = type.GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
                .SingleOrDefault(f => f.FieldType == typeof(MethodInfo[]));
            var constructor = type.GetConstructor(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, [typeof(MethodInfo[])]);
            if (methodTable is null || constructor is null) return Slow;
            var methods = System.Linq.Expressions.Expression.Constant(methodTable.GetValue(template), typeof(MethodInfo[]));
            var fast = System.Linq.Expressions.Expression.Lambda<Func<TGrainInterface>>(
                System.Linq.Expressions.Expression.Convert(System.Linq.Expressions.Expression.New(constructor, methods), typeof(TGrainInterface))).Compile();
            return fast() is GrainProxy ? fast : Slow;
        }
        catch (Exception)
        {
            return Slow;
        }
    }
}

/// <summary>The grain registrations collected by <see cref="GrainsBuilder"/>.</summary>
internal sealed class GrainRegistry
{
    public List<(Type Interface, Type Class, string? Name)> Registrations { get; } = [];
}
