// Progress for long work (eval, predict, demo, attacks, training). On a terminal: live bars (description, bar,
// percentage, elapsed and remaining time), optionally a second bar for the step inside the current item. Elsewhere (a
// CI log, `| tee`): plain lines, the first, one per tenth of the work, and a last one at 100%, never redrawn.
using Spectre.Console;

namespace SegLab.Cli;

/// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and lag behind).</summary>
/// <typeparam name="T">Progress record.</typeparam>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

/// <summary>What work tells its progress display.</summary>
internal interface IProgressLine
{
    /// <summary>Items done and what is going on.</summary>
    void Report(double done, string description);

    /// <summary>Progress inside the current item (the second bar on a terminal; not shown in plain output).</summary>
    void Detail(double done, double total, string description);
}

internal static class CliProgress
{
    /// <summary>Whether the console redraws (a terminal) rather than appends (a log).</summary>
    public static bool IsLive(CliIO io) => io.Console.Profile.Capabilities.Interactive;

    /// <summary>
    /// Runs <paramref name="work"/> with a progress display of <paramref name="total"/> items (from <paramref name="start"/>);
    /// the work reports through the line it is given and returns the closing description.
    /// </summary>
    public static void Run(CliIO io, string description, double total, Func<IProgressLine, string> work, double start = 0, bool detail = false)
    {
        total = Math.Max(total, 1);
        if (!IsLive(io))
        {
            var plain = new PlainLine(io, total, start, description);
            string end = work(plain);
            io.Console.WriteLine($"{end} ({Count(total)}/{Count(total)}, 100%)");
            return;
        }
        io.Console.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: total);
                task.Value = start;
                var sub = detail ? ctx.AddTask("", maxValue: 1) : null;
                string done = work(new LiveLine(task, sub));
                task.Value = task.MaxValue;
                task.Description = Markup.Escape(done);
                task.StopTask();
                if (sub is not null)
                {
                    sub.Value = sub.MaxValue;
                    sub.Description = "done";
                    sub.StopTask();
                }
                ctx.Refresh();
            });
    }

    /// <summary>The line-by-line form of <see cref="Run"/> for one known item count.</summary>
    public static void Run(CliIO io, string description, int total, Func<Action<int, string>, string> work) =>
        Run(io, description, total, line => work((value, text) => line.Report(value, text)));

    private static string Count(double v) => v.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);

    private sealed class LiveLine(ProgressTask task, ProgressTask? sub) : IProgressLine
    {
        public void Report(double done, string description)
        {
            task.Value = done;
            task.Description = Markup.Escape(description);
        }

        public void Detail(double done, double total, string description)
        {
            if (sub is null) return;
            sub.MaxValue = Math.Max(1, total);
            sub.Value = done;
            sub.Description = Markup.Escape(description);
        }
    }

    private sealed class PlainLine : IProgressLine
    {
        private readonly CliIO _io;
        private readonly double _total;
        private int _shown = -1;

        public PlainLine(CliIO io, double total, double start, string description)
        {
            (_io, _total) = (io, total);
            Report(start, description);
        }

        public void Report(double done, string description)
        {
            int tenth = (int)Math.Floor(10 * Math.Clamp(done / _total, 0, 1));
            if (tenth <= _shown || tenth >= 10) return;
            _shown = tenth;
            _io.Console.WriteLine($"{description} ({Count(done)}/{Count(_total)}, {100 * done / _total:F0}%)");
        }

        public void Detail(double done, double total, string description) { }
    }
}
