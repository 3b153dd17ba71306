using McpMultiProxy.Cli;

return await ProxyCommand.Create().Parse(args).InvokeAsync().ConfigureAwait(false);
