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
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "_exit")]
    private static extern void PosixExit(int status);

    /// <summary>
    /// Ends the process at once with <paramref name="code"/> (after the caller flushed its output), without the runtime's
    /// shutdown: on Ctrl-C the state on disk (written atomically) is the truth, and a managed shutdown while worker
    /// threads are inside native image or kernel code crashed the process (exit 139) instead of exiting 130.
    /// </summary>
    public static void ExitNow(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            try { PosixExit(code); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        }
        Environment.Exit(code);
    }

    /// <summary>SegLab's version (the assembly's informational version without build metadata).</summary>
    public static string Version { get; } =
        (typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    /// <summary>Console width for output that is not a terminal: wide enough that no line is ever wrapped.</summary>
    public const int PlainWidth = 4096;

    /// <summary>A path as a user reads it: relative to the current folder when it lies below it, else as it is.</summary>
    /// <param name="path">A file or folder.</param>
    public static string Display(string path)
    {
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code.</summary>
    public static int Run(string[] args, IAnsiConsole console, TextWriter stdout, TextWriter stderr)
    {
        var io = new CliIO(console, stdout, stderr);
        var root = Build(io);
        try
        {
            var result = root.Parse(args);
            if (result.Errors.Count > 0) return UsageErrors(result, stderr);
            _ = SegLab.Imaging.PngDecoding.Default; // a bad SEGLAB_PNG_DECODER is a usage error before anything runs
            return result.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        // Expected failures are one red line: usage errors (a bad option value, an unknown name) exit with 2, data
        // errors (a missing, unreadable or invalid file; a format or state that does not fit) with 1. Anything else
        // is a bug and keeps its stack trace. SEGLAB_DEBUG=1 prints the stack trace of expected failures too.
        catch (Exception e) when (ExitCode(e) is int code)
        {
            WriteError(stderr, e.Message);
            if (Environment.GetEnvironmentVariable("SEGLAB_DEBUG") == "1") stderr.WriteLine(e);
            return code;
        }
    }

    /// <summary>Exit code of an expected failure: 2 for usage errors, 1 for data errors, null for bugs.</summary>
    /// <param name="e">The exception that reached the top.</param>
    internal static int? ExitCode(Exception e) => e switch
    {
        ArgumentException => 2,
        IOException or UnauthorizedAccessException or InvalidDataException or FormatException or KeyNotFoundException
            or InvalidOperationException or SegLab.Engine.Serialization.SafeTensorsException or SegLab.Engine.Nn.StateDictException => 1,
        _ => null,
    };

    private static void WriteError(TextWriter stderr, string message)
    {
        bool red = ReferenceEquals(stderr, System.Console.Error) && !System.Console.IsErrorRedirected
            && Environment.GetEnvironmentVariable("NO_COLOR") is null;
        string line = $"error: {message.ReplaceLineEndings(" ")}";
        stderr.WriteLine(red ? $"\u001b[31m{line}\u001b[0m" : line);
    }

    // Parse errors in the user's words (no .NET type names), one line each, and where to find the usage: exit 2.
    private static int UsageErrors(ParseResult result, TextWriter stderr)
    {
        foreach (var error in result.Errors) WriteError(stderr, Plain(error.Message));
        string verb = string.Join(' ', VerbPath(result.CommandResult));
        stderr.WriteLine($"Run 'seglab {(verb.Length > 0 ? verb + " " : "")}--help' for the options.");
        return 2;
    }

    private static IEnumerable<string> VerbPath(System.CommandLine.Parsing.CommandResult c)
    {
        var names = new List<string>();
        for (var r = c; r is not null && r.Parent is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, r.Command.Name);
        return names;
    }

    /// <summary>A System.CommandLine message with its .NET type names said in words.</summary>
    /// <param name="message">The parser's message.</param>
    internal static string Plain(string message)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"^Cannot parse argument '(.*)' for option '(.*)' as expected type '(.*)'\.?$");
        return m.Success ? $"{m.Groups[2].Value}: '{m.Groups[1].Value}' is not {TypeInWords(m.Groups[3].Value)}." : message;
    }

    private static string TypeInWords(string type) => type.Replace("System.Nullable`1[", "", StringComparison.Ordinal).TrimEnd(']') switch
    {
        "System.Int32" or "System.Int64" => "a whole number",
        "System.Double" or "System.Single" => "a number",
        "System.Boolean" => "true or false",
        var t => "a value of type " + t,
    };

    // The root is named "seglab" (a RootCommand takes the name of the process: SegLab.Cli, or testhost in tests).
    private static Command Build(CliIO io)
    {
        var threads = new Option<int?>("--threads")
        {
            Description = "Engine threads for this run (default: SEGLAB_THREADS or the processor count).",
            Recursive = true,
        };
        var root = new Command("seglab", "SegLab: semantic segmentation you can trust (engine, models, robustness, attribution).")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption { Action = new PrintVersion(io) },
        };
        root.Options.Add(threads);
        root.Subcommands.Add(InfoCommand.Create(io));
        root.Subcommands.Add(ModelsCommand.Create(io));
        root.Subcommands.Add(BenchCommand.Create(io));
        root.Subcommands.Add(DemoCommand.Create(io));
        root.Subcommands.Add(EvalCommand.Create(io));
        root.Subcommands.Add(EvalCommand.CreateMerge(io));
        root.Subcommands.Add(PredictCommand.Create(io));
        root.Subcommands.Add(AttackCommand.Create(io));
        root.Subcommands.Add(ExplainCommand.Create(io));
        root.Subcommands.Add(ContextCommand.Create(io));
        root.Subcommands.Add(TrainCommand.Create(io));
        root.Subcommands.Add(InspectCommand.Create(io));
        root.Subcommands.Add(WeakCommand.Create(io));
        root.Subcommands.Add(IsegCommand.Create(io));
        // No command is a usage error: the commands are listed, and the exit code says nothing ran.
        root.SetAction(r =>
        {
            io.Error.WriteLine($"seglab {Version}: a command is needed ({string.Join(", ", r.CommandResult.Command.Subcommands.Select(c => c.Name))}); run 'seglab --help' for what each does.");
            return 2;
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
