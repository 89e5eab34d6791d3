// seglab: the command-line tool. The only place in SegLab that writes to the console.
using Spectre.Console;

namespace SegLab.Cli;

internal static class Program
{
    private static int Main(string[] args) => Cli.Run(args, CreateConsole(), Console.Out, Console.Error);

    // On a terminal, Spectre's own detection. Elsewhere (a log, a pipe): no colour codes, no redrawing, and lines as
    // long as they are, so that tables are not padded to 80 columns and paths are never wrapped.
    private static IAnsiConsole CreateConsole()
    {
        if (!Console.IsOutputRedirected) return AnsiConsole.Console;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        console.Profile.Width = Cli.PlainWidth;
        return console;
    }
}
