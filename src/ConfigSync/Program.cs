using ConfigSync.Cli;

return await CommandLine.InvokeAsync(args);
