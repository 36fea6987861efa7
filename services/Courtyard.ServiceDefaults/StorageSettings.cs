using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Courtyard.ServiceDefaults;

public enum StorageProviderKind
{
    /// <summary>A file <c>&lt;DataDir&gt;/&lt;ServiceName&gt;.db</c> (the embedded default).</summary>
    Sqlite,

    /// <summary>The service's own PostgreSQL database (<c>Courtyard:Storage:ConnectionString</c>).</summary>
    Postgres,
}

/// <summary>
/// Which database a service opens, read from "Courtyard:Storage" (environment: <c>Courtyard__Storage__Provider</c>,
/// <c>Courtyard__Storage__ConnectionString</c>).
/// </summary>
public sealed record StorageSettings
{
    public const string Section = "Courtyard:Storage";

    public required StorageProviderKind Provider { get; init; }

    /// <summary>SQLite: the absolute file path. PostgreSQL: the connection string (may hold a password: never log it).</summary>
    public required string Target { get; init; }

    /// <summary>For logs, the status page and error messages, without credentials: "sqlite /data/councils.db", "postgres postgres:5432/councils".</summary>
    public required string Description { get; init; }

    /// <summary>Reads and checks the settings; a mistake a person must fix throws <see cref="ServiceStartupException"/>.</summary>
    public static StorageSettings From(IConfiguration configuration, ServiceOptions service)
    {
        var section = configuration.GetSection(Section);
        string provider = section["Provider"]?.Trim() ?? "";
        string? connectionString = section["ConnectionString"];
        switch (provider.ToLowerInvariant())
        {
            case "":
            case "sqlite":
                if (!string.IsNullOrWhiteSpace(connectionString))
                {
                    throw new ServiceStartupException(
                        "配置有误：Courtyard:Storage:ConnectionString 只用于 postgres，SQLite 文件放在数据目录中。\n" +
                        "Configuration error: Courtyard:Storage:ConnectionString is set but the provider is sqlite. Set " +
                        "Courtyard__Storage__Provider=postgres, or remove the connection string (SQLite files live in Courtyard:DataDir).");
                }
                string file = SqliteFileName(service.ServiceName);
                string path = Path.Combine(service.DataDir, file);
                return new StorageSettings { Provider = StorageProviderKind.Sqlite, Target = path, Description = $"sqlite {path}" };
            case "postgres":
                if (string.IsNullOrWhiteSpace(connectionString))
                {
                    throw new ServiceStartupException(
                        "配置有误：使用 postgres 时必须设置 Courtyard:Storage:ConnectionString。\n" +
                        "Configuration error: Courtyard:Storage:Provider is postgres but Courtyard:Storage:ConnectionString " +
                        "(environment Courtyard__Storage__ConnectionString) is empty.");
                }
                return new StorageSettings
                {
                    Provider = StorageProviderKind.Postgres,
                    Target = connectionString,
                    Description = "postgres " + DescribePostgres(connectionString),
                };
            default:
                throw new ServiceStartupException(
                    $"配置有误：Courtyard:Storage:Provider 只能是 sqlite 或 postgres（当前为 \"{provider}\"）。\n" +
                    $"Configuration error: Courtyard:Storage:Provider \"{provider}\" is not one of sqlite, postgres.");
        }
    }

    private static string SqliteFileName(string serviceName)
    {
        string file = serviceName + ".db";
        if (serviceName.Length == 0 || file.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || serviceName.StartsWith('.'))
        {
            throw new ServiceStartupException(
                $"配置有误：服务名 \"{serviceName}\" 不能用作 SQLite 文件名。\n" +
                $"Configuration error: the service name \"{serviceName}\" (Courtyard:ServiceName) cannot name a SQLite file.");
        }
        return file;
    }

    /// <summary>host:port/database, so people see which server was meant without seeing the password.</summary>
    private static string DescribePostgres(string connectionString)
    {
        NpgsqlConnectionStringBuilder parsed;
        try
        {
            parsed = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new ServiceStartupException(
                $"配置有误：Courtyard:Storage:ConnectionString 无法解析：{e.Message}\n" +
                $"Configuration error: Courtyard:Storage:ConnectionString is not a valid PostgreSQL connection string: {e.Message}", e);
        }
        return $"{parsed.Host ?? "localhost"}:{parsed.Port}/{parsed.Database ?? parsed.Username ?? "?"}";
    }
}
