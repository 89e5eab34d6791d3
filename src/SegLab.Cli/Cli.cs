// The command tree (System.CommandLine) and the one place where expected errors become a red one-line message.
using System.CommandLine;
using System.Reflection;
using SegLab.Engine.Threading;
using Spectre.Console;

namespace SegLab.Cli;

/// <summary>Output channels of one invocation: a rich console for people, a plain writer for machine output (JSON).</summary>
/// <param name="Console">Tables, progress and messages.</param>
/// <param name="Out">Plain standard output (JSON goes here, nothing else).</param>
/// <param name="Error">Standard error.</param>
internal sealed record CliIO(IAnsiConsole Console, TextWriter Out, TextWriter Error);

/// <summary>Builds and runs the seglab command tree.</summary>
internal static class Cli
{
    /// <summary>SegLab's version (the assembly's informational version without build metadata).</summary>
    public static string Version { get; } =
        (typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code.</summary>
    public static int Run(string[] args, IAnsiConsole console, TextWriter stdout, TextWriter stderr)
    {
        var io = new CliIO(console, stdout, stderr);
        var root = Build(io);
        try
        {
            var result = root.Parse(args);
            return result.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        // Expected failures (bad values, missing files, unavailable providers) are one red line; anything else is a bug and keeps its stack trace.
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException or FormatException or KeyNotFoundException)
        {
            bool red = ReferenceEquals(stderr, System.Console.Error) && !System.Console.IsErrorRedirected
                && Environment.GetEnvironmentVariable("NO_COLOR") is null;
            string line = $"error: {e.Message.ReplaceLineEndings(" ")}";
            stderr.WriteLine(red ? $"\u001b[31m{line}\u001b[0m" : line);
            if (Environment.GetEnvironmentVariable("SEGLAB_DEBUG") == "1") stderr.WriteLine(e);
            return 1;
        }
    }

    private static RootCommand Build(CliIO io)
    {
        var threads = new Option<int?>("--threads")
        {
            Description = "Engine threads for this run (default: SEGLAB_THREADS or the processor count).",
            Recursive = true,
        };
        var root = new RootCommand("SegLab: semantic segmentation you can trust (engine, models, robustness, attribution).");
        root.Options.Add(threads);
        foreach (var o in root.Options)
            if (o is VersionOption v) v.Action = new PrintVersion(io);
        root.Subcommands.Add(InfoCommand.Create(io));
        root.Subcommands.Add(BenchCommand.Create(io));
        root.Subcommands.Add(DemoCommand.Create(io));
        root.Subcommands.Add(EvalCommand.Create(io));
        root.Subcommands.Add(EvalCommand.CreateMerge(io));
        root.Subcommands.Add(PredictCommand.Create(io));
        root.Subcommands.Add(AttackCommand.Create(io));
        root.Subcommands.Add(TrainCommand.Create(io));
        root.Subcommands.Add(InspectCommand.Create(io));
        root.SetAction(r =>
        {
            io.Console.MarkupLine("[bold]seglab[/] " + Version + ": run [blue]seglab --help[/] for the commands.");
            return 0;
        });
        ApplyThreads = r =>
        {
            var n = r.GetValue(threads);
            if (n is not null)
            {
                if (n < 1) throw new ArgumentException($"--threads must be at least 1, got {n}.");
                Parallelism.SetThreads(n.Value);
            }
        };
        return root;
    }

    /// <summary>--version prints SegLab's version (without build metadata) to standard output.</summary>
    private sealed class PrintVersion(CliIO io) : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            io.Out.WriteLine(Version);
            return 0;
        }
    }

    /// <summary>Applies global options (threads) before a verb runs.</summary>
    internal static Action<ParseResult> ApplyThreads { get; private set; } = _ => { };
}
