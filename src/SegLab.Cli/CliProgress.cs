// One progress bar for long work (eval, predict, demo, attacks, training): description, bar, percentage, elapsed
// and remaining time; finishes at 100% with a closing description. Work reports through a callback on its own thread.
using Spectre.Console;

namespace SegLab.Cli;

/// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and lag behind).</summary>
/// <typeparam name="T">Progress record.</typeparam>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

internal static class CliProgress
{
    /// <summary>
    /// Runs <paramref name="work"/> under a progress bar of <paramref name="total"/> steps. The work calls the given
    /// callback with (steps done, description) and returns the closing description.
    /// </summary>
    public static void Run(CliIO io, string description, int total, Func<Action<int, string>, string> work)
    {
        io.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
                string done = work((value, text) =>
                {
                    task.Value = value;
                    task.Description = Markup.Escape(text);
                });
                task.Value = task.MaxValue;
                task.Description = Markup.Escape(done);
                task.StopTask();
                ctx.Refresh();
            });
    }
}
