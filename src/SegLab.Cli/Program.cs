// seglab: the command-line tool. The only place in SegLab that writes to the console.
using Spectre.Console;

namespace SegLab.Cli;

internal static class Program
{
    private static int Main(string[] args) => Cli.Run(args, AnsiConsole.Console, Console.Out, Console.Error);
}
