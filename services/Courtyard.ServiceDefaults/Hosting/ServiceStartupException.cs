namespace Courtyard.ServiceDefaults;

/// <summary>
/// A service cannot start because of its configuration or its database: the message says what and what to change
/// (Chinese first), so a host prints it and exits instead of showing a stack trace.
/// </summary>
public sealed class ServiceStartupException(string message, Exception? innerException = null) : Exception(message, innerException);
