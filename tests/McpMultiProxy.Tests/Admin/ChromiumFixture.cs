using Microsoft.Playwright;
using Xunit;

namespace McpMultiProxy.Tests.Admin;

/// <summary>
/// Headless Chromium for the console tests: Debian's <c>chromium</c> package at <see cref="ExecutablePath"/>, driven by
/// Playwright through its executable-path launch option (Playwright's own browser download does not work here and
/// is never attempted). Without the browser the tests fail with a message saying how to install it: they are
/// part of the suite, not optional.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly string[] Arguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium was not started.");

    /// <summary>Where the tests save their screenshots (git-ignored).</summary>
    public static string ScreenshotDirectory { get; } =
        Directory.CreateDirectory(Path.Combine(Infrastructure.TestPaths.TestsDirectory, "McpMultiProxy.Tests", "TestResults", "screenshots")).FullName;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"The web console tests need Chromium at {ExecutablePath} and it is not there. Install Debian's package: " +
                "'apt-get update && apt-get install -y chromium' (.ci/run does this).");
        }

        // Generous: the machine running the suite may be busy, and backends take their time to start.
        Assertions.SetDefaultExpectTimeout(30_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = Arguments,
            Timeout = 60_000,
        });
    }

    /// <summary>A new page with a laptop-sized viewport; JavaScript errors on it are collected in <paramref name="errors"/>.</summary>
    public async Task<IPage> NewPageAsync(List<string> errors)
    {
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        page.PageError += (_, error) => errors.Add(error);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        return page;
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}
