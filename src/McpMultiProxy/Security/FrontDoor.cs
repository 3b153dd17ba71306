using System.Net;
using McpMultiProxy.Cli;
using McpMultiProxy.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace McpMultiProxy.Security;

/// <summary>Where the HTTP frontend listens: an IP address (or <c>localhost</c>) and a port.</summary>
internal sealed record ListenAddress(IPAddress? Ip, int Port)
{
    /// <summary>Only this machine can connect.</summary>
    public bool IsLoopback => Ip is null || IPAddress.IsLoopback(Ip);

    /// <summary>Every interface (0.0.0.0 or ::): the names clients will use are unknown.</summary>
    public bool IsWildcard => Ip is not null && (Ip.Equals(IPAddress.Any) || Ip.Equals(IPAddress.IPv6Any));

    /// <summary>Parses <c>host:port</c> (or a URL); the host must be an IP address or <c>localhost</c>.</summary>
    public static ListenAddress Parse(string address)
    {
        var text = address.Contains("://", StringComparison.Ordinal) ? new Uri(address).Authority : address;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out var port) || port is < 0 or > 65535)
        {
            throw new ConfigException($"--http '{address}' is not host:port; write it like 127.0.0.1:8765 (port 0 picks a free port).");
        }

        var host = text[..colon].Trim('[', ']');
        if (host == "localhost")
        {
            return new ListenAddress(null, port);
        }

        return IPAddress.TryParse(host, out var ip)
            ? new ListenAddress(ip, port)
            : throw new ConfigException($"--http '{address}': '{host}' is not an IP address; use 127.0.0.1, ::1, localhost or another address of this machine.");
    }

    /// <summary>Binds Kestrel to this address.</summary>
    public void Listen(KestrelServerOptions kestrel)
    {
        if (Ip is null)
        {
            kestrel.ListenLocalhost(Port);
        }
        else
        {
            kestrel.Listen(Ip, Port);
        }
    }
}

/// <summary>
/// Composes the HTTP front door: refuses to listen beyond loopback unless told to (and then only with a token),
/// sets Kestrel's limits, and puts <see cref="FrontDoorMiddleware"/> in front of the whole listener.
/// </summary>
internal static partial class FrontDoor
{
    /// <summary>Decides the policy for <paramref name="address"/>; throws <see cref="ConfigException"/> for an unsafe setup, saying how to fix it.</summary>
    /// <param name="address">Where the proxy will listen.</param>
    /// <param name="options">The command line.</param>
    /// <param name="settings">The <c>proxy</c> section's security settings.</param>
    /// <param name="tokenCreated">True when a new token file was written.</param>
    /// <param name="tokenWarning">A problem with an existing token file, or null.</param>
    public static FrontDoorPolicy CreatePolicy(ListenAddress address, ProxyRunOptions options, SecuritySettings settings, out bool tokenCreated, out string? tokenWarning)
    {
        tokenCreated = false;
        tokenWarning = null;
        // proxy.tokenFile is relative to the config file, like everything else in it; --token-file to the working directory.
        var configDirectory = options.ConfigPath is { } config ? Path.GetDirectoryName(Path.GetFullPath(config))! : Environment.CurrentDirectory;
        var tokenFile = options.TokenFile is { } flag ? Path.GetFullPath(flag)
            : settings.TokenFile is { } configured ? Path.GetFullPath(configured, configDirectory)
            : null;
        if (!address.IsLoopback)
        {
            if (!options.AllowRemote)
            {
                throw new ConfigException(
                    $"--http {options.HttpAddress}: this address can be reached from other machines. The proxy listens on loopback only (127.0.0.1) unless you " +
                    "pass --allow-remote, and then every request needs a bearer token (--token-file PATH).");
            }

            if (tokenFile is null)
            {
                throw new ConfigException(
                    "--allow-remote: listening beyond this machine needs a bearer token. Add --token-file PATH (a random token is written there, " +
                    "readable only by you, when the file does not exist) or proxy.tokenFile in the config file.");
            }
        }

        var token = tokenFile is null ? null : BearerToken.LoadOrCreate(tokenFile, out tokenCreated, out tokenWarning);
        List<string> hosts = [.. OriginPolicy.LoopbackHosts, .. settings.AllowedHosts, .. Split(options.AllowedHosts)];
        if (address.Ip is { } ip && !address.IsWildcard && !address.IsLoopback)
        {
            hosts.Add(ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString());
        }

        return new FrontDoorPolicy
        {
            AllowedHosts = hosts,
            AnyHost = address.IsWildcard && hosts.Count == OriginPolicy.LoopbackHosts.Count,
            AllowedOrigins = [.. settings.AllowedOrigins, .. Split(options.AllowedOrigins)],
            Token = token,
            TokenFile = token is null ? null : tokenFile,
            MaxMessageBytes = settings.MaxMessageBytes,
            MaxJsonDepth = settings.MaxJsonDepth,
        };
    }

    /// <summary>Kestrel's own limits, so that an oversized body is refused before it is read.</summary>
    public static void ConfigureLimits(KestrelServerOptions kestrel, FrontDoorPolicy policy)
    {
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxRequestBodySize = policy.MaxMessageBytes;
        kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
        kestrel.Limits.MaxRequestHeaderCount = 100;
    }

    /// <summary>Puts the front door in front of everything served on the listener; call before any endpoint is mapped.</summary>
    public static void UseFrontDoor(this WebApplication app, FrontDoorPolicy policy, ListenAddress address, bool tokenCreated, string? tokenWarning)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FrontDoor).FullName!);
        if (policy.Token is { } token)
        {
            // Known to the scrubber before the first request, so that no log line can ever show it.
            app.Services.GetRequiredService<SecretValues>().Add(token.Value);
            if (tokenCreated)
            {
                LogTokenCreated(logger, policy.TokenFile!);
            }

            LogTokenRequired(logger, policy.TokenFile!);
        }

        if (tokenWarning is not null)
        {
            LogTokenFileWarning(logger, tokenWarning);
        }

        if (!address.IsLoopback)
        {
            LogRemote(logger, address.Ip!.ToString(), policy.AnyHost ? "any Host name (set proxy.allowedHosts to restrict it)" : string.Join(", ", policy.AllowedHosts));
        }

        app.UseMiddleware<FrontDoorMiddleware>(policy);
    }

    /// <summary>What a client must add to reach the endpoint, for the welcome text; empty without a token.</summary>
    public static string ClientHint(FrontDoorPolicy policy) =>
        policy.Token is null ? "" : $"Every HTTP request needs the header 'Authorization: Bearer <token>'; the token is in {policy.TokenFile} (it is never printed). " +
            "The web console takes it once as <console address>/#token=<token>.";

    private static IEnumerable<string> Split(string? list) =>
        list?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening on {Address}, reachable from other machines (--allow-remote). Every request needs the bearer token; Host names accepted: {Hosts}.")]
    private static partial void LogRemote(ILogger logger, string address, string hosts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created a new bearer token in {Path} (mode 0600; it is never printed)")]
    private static partial void LogTokenCreated(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP clients must send 'Authorization: Bearer <token>' with the token in {Path}")]
    private static partial void LogTokenRequired(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bearer token: {Warning}")]
    private static partial void LogTokenFileWarning(ILogger logger, string warning);
}
