using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization;

namespace Courtyard.Storage;

/// <summary>Creates the <see cref="IJournal{TState,TEvent}"/> a grain's constructor asks for with <see cref="JournalAttribute"/>.</summary>
internal sealed class JournalAttributeMapper : IAttributeToFactoryMapper<JournalAttribute>
{
    private static readonly MethodInfo CreateMethod = typeof(JournalAttributeMapper).GetMethod(nameof(Create), BindingFlags.NonPublic | BindingFlags.Static)!;

    public Factory<IGrainContext, object> GetFactory(ParameterInfo parameter, JournalAttribute metadata)
    {
        var type = parameter.ParameterType;
        if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(IJournal<,>))
        {
            throw new ArgumentException(
                $"Parameter '{parameter.Name}' of {parameter.Member.DeclaringType} has [Journal] but is a {type}; it must be an IJournal<TState, TEvent>.",
                parameter.Name);
        }
        var create = CreateMethod.MakeGenericMethod(type.GetGenericArguments());
        return context => create.Invoke(null, [context, metadata.StorageName])!;
    }

    private static IJournal<TState, TEvent> Create<TState, TEvent>(IGrainContext context, string storageName)
        where TState : class, new() where TEvent : class
    {
        var services = context.ActivationServices;
        return new CourtyardJournal<TState, TEvent>(
            context.GrainId.ToString(),
            services.GetRequiredKeyedService<IStorageProvider>(storageName),
            services.GetRequiredService<Serializer>(),
            services.GetRequiredService<IOptions<CourtyardJournalOptions>>().Value,
            context,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Courtyard.Storage.Journal"));
    }
}
