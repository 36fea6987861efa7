using Microsoft.Extensions.Configuration;

namespace Courtyard.ServiceDefaults.Tests.Storage;

/// <summary>Which database a service's storage opens, from Courtyard:Storage:Provider and ConnectionStrings:&lt;service&gt;.</summary>
public sealed class StorageSettingsTests
{
    private const string DataDir = "/srv/courtyard/data";

    private static StorageSettings Read(string name, Dictionary<string, string?> settings) =>
        StorageSettings.From(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), name, DataDir);

    [Fact]
    public void By_default_each_service_has_its_own_SQLite_file_in_the_data_folder()
    {
        var councils = Read("councils", []);
        var directory = Read("directory", []);

        Assert.Equal((StorageProviderKind.Sqlite, "/srv/courtyard/data/councils.db"), (councils.Provider, councils.Target));
        Assert.Equal("/srv/courtyard/data/directory.db", directory.Target);
    }

    [Fact]
    public void With_postgres_each_service_has_its_own_connection_string_named_after_it_and_the_password_is_never_shown()
    {
        var settings = Read("councils", new()
        {
            ["Courtyard:Storage:Provider"] = "postgres",
            ["ConnectionStrings:councils"] = "Host=db;Port=5432;Database=councils;Username=courtyard;Password=s3cret",
            ["ConnectionStrings:directory"] = "Host=db;Database=directory",
        });

        Assert.Equal(StorageProviderKind.Postgres, settings.Provider);
        Assert.Equal("postgres db:5432/councils", settings.Description);
        Assert.Contains("ConnectionStrings__councils", settings.Setting);
    }

    [Theory]
    [InlineData("Courtyard:Storage:Provider", "mysql", "Courtyard:Storage:Provider (Courtyard__Storage__Provider) \"mysql\" is not one of sqlite, postgres")]
    [InlineData("ConnectionStrings:councils", "Host=db", "ConnectionStrings:councils is set but Courtyard:Storage:Provider is sqlite")]
    public void A_wrong_setting_is_refused_naming_it(string key, string value, string expected)
    {
        var error = Assert.Throws<ServiceStartupException>(() => Read("councils", new() { [key] = value }));

        Assert.StartsWith("配置有误", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Postgres_without_the_services_connection_string_is_refused()
    {
        var error = Assert.Throws<ServiceStartupException>(() => Read("councils", new()
        {
            ["Courtyard:Storage:Provider"] = "postgres",
            ["ConnectionStrings:directory"] = "Host=db;Database=directory",
        }));

        Assert.Contains("ConnectionStrings:councils (environment ConnectionStrings__councils) is empty", error.Message);
    }

    [Fact]
    public void A_connection_string_that_does_not_parse_is_refused_without_echoing_it()
    {
        var error = Assert.Throws<ServiceStartupException>(() => Read("councils", new()
        {
            ["Courtyard:Storage:Provider"] = "postgres",
            ["ConnectionStrings:councils"] = "Host=127.0.0.1;Flavour=vanilla;Password=secret-pw",
        }));

        Assert.Contains("not a valid PostgreSQL connection string", error.Message);
        Assert.DoesNotContain("secret-pw", error.Message);
    }
}
