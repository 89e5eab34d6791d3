// seglab as a separate process, its output redirected as in a CI log: for the kill harness and for what a user sees
// when the output is not a terminal.
using System.Diagnostics;
using System.Text;

namespace SegLab.Cli.Tests;

internal static class CliProcess
{
    /// <summary>How a finished process ended.</summary>
    public sealed record Exit(int Code, string Out, string Err, double Seconds);

    /// <summary>A running seglab process whose output is collected.</summary>
    public sealed class Child(Process process, StringBuilder stdout, StringBuilder stderr) : IDisposable
    {
        public Process Process { get; } = process;

        public Exit Wait(TimeSpan limit)
        {
            var clock = Stopwatch.StartNew();
            if (!Process.WaitForExit(limit))
            {
                Process.Kill(entireProcessTree: true);
                throw new TimeoutException($"seglab did not finish within {limit}: {stderr}");
            }
            Process.WaitForExit();
            lock (stdout) lock (stderr) return new Exit(Process.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed.TotalSeconds);
        }

        public void Dispose() => Process.Dispose();
    }

    /// <summary>Starts the seglab of this build (its dll is copied beside the tests) with SEGLAB_FAULT set to <paramref name="fault"/> or unset.</summary>
    public static Child Start(string? fault, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SegLab.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["DOTNET_TieredCompilation"] = "0";
        if (fault is null) psi.Environment.Remove(SegLab.Engine.IO.FaultInjection.Variable);
        else psi.Environment[SegLab.Engine.IO.FaultInjection.Variable] = fault;
        var p = new Process { StartInfo = psi };
        var o = new StringBuilder();
        var e = new StringBuilder();
        p.OutputDataReceived += (_, d) => { if (d.Data is not null) lock (o) o.AppendLine(d.Data); };
        p.ErrorDataReceived += (_, d) => { if (d.Data is not null) lock (e) e.AppendLine(d.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return new Child(p, o, e);
    }

    /// <summary>Runs seglab to its end (three minutes at most).</summary>
    public static Exit Run(string? fault, params string[] args)
    {
        using var c = Start(fault, args);
        return c.Wait(TimeSpan.FromMinutes(3));
    }
}
