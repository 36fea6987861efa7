using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.DependencyInjection;

namespace Courtyard.Grains;

/// <summary>A registered grain class: its type name (used in reminder rows), its methods, how to construct it, its activations.</summary>
internal sealed class GrainClass
{
    private readonly ConstructorInfo constructor;
    private readonly Func<Activation, IServiceProvider, object?>[] argumentFactories;
    private readonly Dictionary<MethodInfo, GrainMethod> methods = [];

    public GrainClass(string name, Type classType)
    {
        Name = name;
        ClassType = classType;
        IsReentrant = classType.IsDefined(typeof(ReentrantAttribute), inherit: true);
        constructor = classType.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
            ?? throw new InvalidOperationException($"Grain class {classType.Name} has no public constructor.");
        var stateNames = new HashSet<string>();
        argumentFactories = constructor.GetParameters().Select(p => ArgumentFactory(p, stateNames)).ToArray();
    }

    public string Name { get; }
    public Type ClassType { get; }
    public bool IsReentrant { get; }

    /// <summary>The activations of this class in this process, by key.</summary>
    public ConcurrentDictionary<string, Activation> Activations { get; } = new();

    public GrainMethod GetMethod(MethodInfo method) => methods.TryGetValue(method, out var found)
        ? found
        : throw new InvalidOperationException($"{method.DeclaringType?.Name}.{method.Name} is not a method of grain {Name}.");

    /// <summary>Adds the methods of one grain interface (and the interfaces it extends); validates their shape.</summary>
    public void AddInterface(Type grainInterface)
    {
        foreach (var type in grainInterface.GetInterfaces().Append(grainInterface))
        {
            foreach (var method in type.GetMethods())
            {
                if (methods.ContainsKey(method)) continue;
                if (method.IsGenericMethodDefinition)
                    throw new InvalidOperationException($"Grain method {type.Name}.{method.Name} is generic; grain methods must not be.");
                var kind = IsReentrant || method.IsDefined(typeof(AlwaysInterleaveAttribute)) ? TurnKind.Interleave
                    : method.IsDefined(typeof(ReadOnlyAttribute)) ? TurnKind.ReadOnly
                    : TurnKind.Exclusive;
                methods[method] = GrainMethod.Create(type, method, kind);
            }
        }
    }

    /// <summary>Constructs the grain for <paramref name="activation"/>; returns the persistent states to load before OnActivateAsync.</summary>
    public Grain Create(Activation activation, IServiceProvider services, List<IStateLoader> states)
    {
        var arguments = new object?[argumentFactories.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            arguments[i] = argumentFactories[i](activation, services);
            if (arguments[i] is IStateLoader loader) states.Add(loader);
        }
        try
        {
            return (Grain)constructor.Invoke(arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    private Func<Activation, IServiceProvider, object?> ArgumentFactory(ParameterInfo parameter, HashSet<string> stateNames)
    {
        var type = parameter.ParameterType;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IPersistentState<>))
        {
            var stateName = parameter.GetCustomAttribute<PersistentStateAttribute>()?.StateName ?? ClassType.Name;
            if (!stateNames.Add(stateName))
                throw new InvalidOperationException(
                    $"Grain class {ClassType.Name} has two persistent states named \"{stateName}\"; name them with [PersistentState(\"...\")].");
            var create = typeof(GrainClass).GetMethod(nameof(CreateState), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(type.GetGenericArguments()[0])
                .CreateDelegate<Func<string, Activation, object>>();
            return (activation, _) => create(stateName, activation);
        }
        if (parameter.HasDefaultValue)
            return (_, services) => services.GetService(type) ?? parameter.DefaultValue;
        return (_, services) => services.GetService(type)
            ?? throw new InvalidOperationException($"Grain class {ClassType.Name} needs a {type.Name}, which is not registered in DI.");
    }

    private static object CreateState<TState>(string stateName, Activation activation) where TState : class, new()
        => new PersistentState<TState>(stateName, activation);
}

/// <summary>One grain interface method: how requests to it interleave and how to invoke it on the grain instance.</summary>
internal abstract class GrainMethod
{
    protected GrainMethod(MethodInfo method, TurnKind kind, ReturnKind returnKind, Func<object, object?[]?, Task> invoke)
    {
        Method = method;
        Kind = kind;
        Returns = returnKind;
        Invoke = invoke;
    }

    internal enum ReturnKind : byte { Task, TaskOfT, ValueTask, ValueTaskOfT }

    public MethodInfo Method { get; }
    public TurnKind Kind { get; }
    public ReturnKind Returns { get; }
    /// <summary>Calls the method on a grain instance; ValueTasks are turned into Tasks.</summary>
    public Func<object, object?[]?, Task> Invoke { get; }

    /// <summary>Issues a call through the runtime and returns what the proxy method returns (Task, Task&lt;T&gt;, ValueTask...).</summary>
    public abstract object Call(GrainRuntime runtime, GrainClass grainClass, string key, object?[]? arguments);

    public static GrainMethod Create(Type grainInterface, MethodInfo method, TurnKind kind)
    {
        var returnType = method.ReturnType;
        ReturnKind returnKind;
        Type resultType;
        if (returnType == typeof(Task)) (returnKind, resultType) = (ReturnKind.Task, typeof(object));
        else if (returnType == typeof(ValueTask)) (returnKind, resultType) = (ReturnKind.ValueTask, typeof(object));
        else if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
            (returnKind, resultType) = (ReturnKind.TaskOfT, returnType.GetGenericArguments()[0]);
        else if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
            (returnKind, resultType) = (ReturnKind.ValueTaskOfT, returnType.GetGenericArguments()[0]);
        else
            throw new InvalidOperationException(
                $"Grain method {grainInterface.Name}.{method.Name} returns {returnType.Name}; grain methods return Task, Task<T>, ValueTask or ValueTask<T>.");
        if (method.GetParameters().Any(p => p.ParameterType.IsByRef))
            throw new InvalidOperationException($"Grain method {grainInterface.Name}.{method.Name} has a ref/out parameter.");

        var invoke = CompileInvoker(grainInterface, method, returnKind);
        return (GrainMethod)Activator.CreateInstance(typeof(GrainMethod<>).MakeGenericType(resultType), method, kind, returnKind, invoke)!;
    }

    // (grain, args) => (Task)((IFace)grain).Method((T0)args[0], ...)   [.AsTask() for ValueTask]
    private static Func<object, object?[]?, Task> CompileInvoker(Type grainInterface, MethodInfo method, ReturnKind returnKind)
    {
        var grain = Expression.Parameter(typeof(object), "grain");
        var args = Expression.Parameter(typeof(object?[]), "args");
        var parameters = method.GetParameters()
            .Select((p, i) => (Expression)Expression.Convert(Expression.ArrayIndex(args, Expression.Constant(i)), p.ParameterType));
        Expression body = Expression.Call(Expression.Convert(grain, grainInterface), method, parameters);
        if (returnKind is ReturnKind.ValueTask or ReturnKind.ValueTaskOfT)
            body = Expression.Call(body, method.ReturnType.GetMethod(nameof(ValueTask.AsTask))!);
        body = Expression.Convert(body, typeof(Task));
        return Expression.Lambda<Func<object, object?[]?, Task>>(body, grain, args).Compile();
    }
}

internal sealed class GrainMethod<TResult>(MethodInfo method, TurnKind kind, GrainMethod.ReturnKind returnKind, Func<object, object?[]?, Task> invoke)
    : GrainMethod(method, kind, returnKind, invoke)
{
    public override object Call(GrainRuntime runtime, GrainClass grainClass, string key, object?[]? arguments)
    {
        var call = new GrainCall<TResult>(this, arguments) { Parent = WorkItem.Current };
        runtime.Dispatch(grainClass, key, call);
        var task = runtime.WithCallTimeout(call.Task, call);
        return Returns switch
        {
            ReturnKind.ValueTask => new ValueTask(task),
            ReturnKind.ValueTaskOfT => new ValueTask<TResult>(task),
            _ => task,
        };
    }
}

/// <summary>A request to a grain method: runs as one turn, then completes the caller's task.</summary>
internal sealed class GrainCall<TResult>(GrainMethod<TResult> method, object?[]? arguments) : WorkItem
{
    private readonly TaskCompletionSource<TResult> completion = new();

    public Task<TResult> Task => completion.Task;
    internal override TurnKind Kind => method.Kind;
    internal override string Describe() => $"{Activation?.Class.Name}({Activation?.Key}).{method.Method.Name}";
    internal override void Start(Activation activation) => _ = RunAsync(activation);
    internal override void Fail(Exception error) => completion.TrySetException(error);

    private async Task RunAsync(Activation activation)
    {
        EnterTurn(this);
        TResult result = default!;
        Exception? error = null;
        try
        {
            var task = method.Invoke(activation.Instance!, arguments);
            await task;
            if (method.Returns is GrainMethod.ReturnKind.TaskOfT or GrainMethod.ReturnKind.ValueTaskOfT)
                result = ((Task<TResult>)task).Result;
        }
        catch (Exception e)
        {
            error = e;
        }
        // Release the turn before completing the caller, so the caller's next call finds the activation free.
        activation.CompleteTurn(this, error);
        if (error is null) completion.SetResult(result);
        else completion.SetException(error);
    }
}
