using System.Net;

namespace Platform.Host.Tests;

/// <summary>What a person starting the host sees: help, the data folder, the printed addresses, the status page.</summary>
public sealed class HostStartupTests
{
    [Fact]
    public async Task Help_prints_usage_with_every_option()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int exitCode = await HostCommandLine.RunAsync(["--help"], output, error);

        string help = output.ToString();
        Assert.Equal(0, exitCode);
        Assert.Contains("Usage:", help);
        Assert.Contains("--grpc-port", help);
        Assert.Contains("--http-port", help);
        Assert.Contains("--data-dir", help);
        Assert.Contains("5100", help);
        Assert.Contains("5180", help);
        Assert.Contains("院落自治平台", help);
    }

    [Theory]
    [InlineData("--grpc-port", "70000", "must be a whole number between 0 and 65535")]
    [InlineData("--http-port", "-1", "must be a whole number between 0 and 65535")]
    [InlineData("--grpc-port", "abc", "must be a whole number between 0 and 65535 (got \"abc\")")]
    public async Task A_bad_port_is_refused_with_a_message(string option, string value, string expected)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int exitCode = await HostCommandLine.RunAsync([option, value], output, error);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(expected, error.ToString());
    }

    [Fact]
    public async Task The_same_port_for_grpc_and_http_is_refused()
    {
        var error = new StringWriter();

        int exitCode = await HostCommandLine.RunAsync(["--grpc-port", "5300", "--http-port", "5300"], new StringWriter(), error);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("must differ", error.ToString());
    }

    [Fact]
    public async Task A_port_already_in_use_is_reported_instead_of_a_stack_trace()
    {
        using var occupant = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        int busyPort = ((IPEndPoint)occupant.LocalEndpoint).Port;
        string dataDir = RunningHost.NewDataDir();
        var error = new StringWriter();
        try
        {
            int exitCode = await HostCommandLine.RunAsync(
                ["--grpc-port", busyPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--http-port", "0", "--data-dir", dataDir],
                new StringWriter(), error);

            Assert.Equal(1, exitCode);
            Assert.StartsWith("无法监听端口", error.ToString());
            Assert.Contains(busyPort.ToString(System.Globalization.CultureInfo.InvariantCulture), error.ToString());
            Assert.DoesNotContain("   at ", error.ToString());
        }
        finally
        {
            RunningHost.TryDelete(Path.GetDirectoryName(dataDir)!);
        }
    }

    [Fact]
    public async Task A_data_folder_that_cannot_be_created_is_reported()
    {
        // A path under a regular file can never become a folder.
        string file = Path.GetTempFileName();
        var error = new StringWriter();
        try
        {
            int exitCode = await HostCommandLine.RunAsync(
                ["--grpc-port", "0", "--http-port", "0", "--data-dir", Path.Combine(file, "data")], new StringWriter(), error);

            Assert.Equal(1, exitCode);
            Assert.StartsWith("无法创建数据目录", error.ToString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task The_data_folder_is_created_with_its_parents()
    {
        string dataDir = Path.Combine(RunningHost.NewDataDir(), "nested", "deeper");
        Assert.False(System.IO.Directory.Exists(dataDir));

        await using var host = await RunningHost.StartAsync(dataDir: dataDir);

        Assert.True(System.IO.Directory.Exists(dataDir));
        Assert.Contains($"data: {Path.GetFullPath(dataDir)}", PlatformHost.DescribeAddresses(host.App));
    }

    [Fact]
    public async Task Printed_addresses_are_the_ones_it_listens_on()
    {
        await using var host = await RunningHost.StartAsync();

        string text = PlatformHost.DescribeAddresses(host.App);

        Assert.Contains($"gRPC (h2c): http://127.0.0.1:{host.GrpcAddress.Port}", text);
        Assert.Contains($"HTTP: http://127.0.0.1:{host.HttpAddress.Port}", text);
        Assert.NotEqual(host.GrpcAddress.Port, host.HttpAddress.Port);
    }

    [Fact]
    public async Task Status_page_on_the_http_port_is_chinese_first_and_names_the_services_storage_and_cluster()
    {
        await using var host = await RunningHost.StartWithProbeAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using var response = await http.GetAsync(new Uri(host.HttpAddress, "/status"));
        string page = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Version(1, 1), response.Version);
        Assert.StartsWith("text/html", response.Content.Headers.ContentType?.ToString());
        Assert.Contains("lang=\"zh-CN\"", page);
        Assert.True(page.IndexOf("运行中", StringComparison.Ordinal) < page.IndexOf("Running", StringComparison.Ordinal));
        Assert.Contains("grpc.health.v1.Health", page);
        Assert.Contains("courtyard.hosttests.v1.Probe", page);
        Assert.Contains("sqlite " + Path.Combine(host.DataDir, "hosttests.db"), page);
        Assert.Contains("localhost, ServiceId platform", page);
        Assert.Contains("<code>storage:hosttests</code> — 正常 healthy", page);
        Assert.Contains(host.GrpcAddress.ToString().TrimEnd('/'), page);
    }
}
