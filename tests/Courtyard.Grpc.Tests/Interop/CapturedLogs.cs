using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Courtyard.Grpc.Tests.Interop;

/// <summary>Keeps our server's warnings and errors so a failing interop test can show what the server said.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _entries = new();

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, _entries);

    public string Dump() => _entries.IsEmpty ? "(nothing logged)" : string.Join(Environment.NewLine, _entries.TakeLast(20));

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                entries.Enqueue($"[{logLevel}] {category}: {formatter(state, exception)} {exception?.GetType().Name}: {exception?.Message}");
            }
        }
    }
}
