using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Courtyard.ServiceDefaults;

public enum StorageProviderKind
{
    /// <summary>A file <c>&lt;DataDir&gt;/&lt;storage&gt;.db</c> (the embedded default).</summary>
    Sqlite,

    /// <summary>The service's own PostgreSQL database (<c>ConnectionStrings:&lt;storage&gt;</c>).</summary>
    Postgres,
}

/// <summary>
/// Which database one service's storage opens: <c>Courtyard:Storage:Provider</c> (sqlite | postgres, for every storage of
/// the process) and, for postgres, the connection string named after the storage, <c>ConnectionStrings:&lt;storage&gt;</c>
/// (environment <c>ConnectionStrings__councils</c>).
/// </summary>
public sealed record StorageSettings
{
    public const string ProviderKey = "Courtyard:Storage:Provider";

    /// <summary>The storage name: the service's name (TEAM convention 3), its grain storage name and its SQLite file name.</summary>
    public required string Name { get; init; }

    public required StorageProviderKind Provider { get; init; }

    /// <summary>SQLite: the absolute file path. PostgreSQL: the connection string (may hold a password: never log it).</summary>
    public required string Target { get; init; }

    /// <summary>For logs, the status page and error messages, without credentials: "sqlite /data/councils.db", "postgres db:5432/councils".</summary>
    public required string Description { get; init; }

    /// <summary>The setting a person changes when this database cannot be opened.</summary>
    public string Setting => Provider == StorageProviderKind.Sqlite
        ? "Courtyard:DataDir (Courtyard__DataDir)"
        : $"ConnectionStrings:{Name} (ConnectionStrings__{Name})";

    /// <summary>Reads and checks the settings; a mistake a person must fix throws <see cref="ServiceStartupException"/>.</summary>
    public static StorageSettings From(IConfiguration configuration, string name, string dataDir)
    {
        if (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')))
        {
            throw new ArgumentException($"A storage name is a service name: lower-case ASCII letters, digits and '-' (got \"{name}\").", nameof(name));
        }
        string provider = configuration[ProviderKey]?.Trim() ?? "";
        string? connectionString = configuration.GetConnectionString(name);
        switch (provider.ToLowerInvariant())
        {
            case "":
            case "sqlite":
                if (!string.IsNullOrWhiteSpace(connectionString))
                {
                    throw new ServiceStartupException(
                        $"配置有误：ConnectionStrings:{name} 只用于 postgres，SQLite 文件放在数据目录中。\n" +
                        $"Configuration error: ConnectionStrings:{name} is set but {ProviderKey} is sqlite. Set " +
                        $"Courtyard__Storage__Provider=postgres, or remove the connection string (SQLite files live in Courtyard:DataDir).");
                }
                string path = Path.Combine(dataDir, name + ".db");
                return new StorageSettings { Name = name, Provider = StorageProviderKind.Sqlite, Target = path, Description = $"sqlite {path}" };
            case "postgres":
                if (string.IsNullOrWhiteSpace(connectionString))
                {
                    throw new ServiceStartupException(
                        $"配置有误：使用 postgres 时必须设置 ConnectionStrings:{name}。\n" +
                        $"Configuration error: {ProviderKey} is postgres but ConnectionStrings:{name} " +
                        $"(environment ConnectionStrings__{name}) is empty.");
                }
                return new StorageSettings
                {
                    Name = name,
                    Provider = StorageProviderKind.Postgres,
                    Target = connectionString,
                    Description = "postgres " + DescribePostgres(name, connectionString),
                };
            default:
                throw new ServiceStartupException(
                    $"配置有误：{ProviderKey} 只能是 sqlite 或 postgres（当前为 \"{provider}\"）。\n" +
                    $"Configuration error: {ProviderKey} (Courtyard__Storage__Provider) \"{provider}\" is not one of sqlite, postgres.");
        }
    }

    /// <summary>host:port/database, so people see which server was meant without seeing the password.</summary>
    private static string DescribePostgres(string name, string connectionString)
    {
        NpgsqlConnectionStringBuilder parsed;
        try
        {
            parsed = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new ServiceStartupException(
                $"配置有误：ConnectionStrings:{name} 无法解析：{e.Message}\n" +
                $"Configuration error: ConnectionStrings:{name} is not a valid PostgreSQL connection string: {e.Message}", e);
        }
        return $"{parsed.Host ?? "localhost"}:{parsed.Port}/{parsed.Database ?? parsed.Username ?? "?"}";
    }
}
