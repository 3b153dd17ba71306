using System.CommandLine;
using McpMultiProxy.Cli;

// No termination timeout of System.CommandLine's own (2 s by default, then it exits with code 130): the host
// handles SIGTERM/SIGINT itself, drains calls in flight, stops every backend, and then returns 0.
return await ProxyCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
