// Axis arithmetic shared by the SVG charts: "nice" linear ticks (steps of 1, 2 or 5 times a power of ten), decade
// ticks for a log axis (with 2 and 5 in between when the range is short), tick labels in the invariant culture,
// mapping a value to a pixel, and a rough text-width estimate for laying out labels without a font engine.
namespace SegLab.Reports;

/// <summary>A linear or logarithmic axis from <see cref="Min"/> to <see cref="Max"/> mapped onto a pixel range.</summary>
internal sealed class ChartAxis
{
    private ChartAxis(double min, double max, bool log, IReadOnlyList<(double Value, string Label)> ticks)
    {
        Min = min;
        Max = max;
        Log = log;
        Ticks = ticks;
    }

    public double Min { get; }

    public double Max { get; }

    public bool Log { get; }

    public IReadOnlyList<(double Value, string Label)> Ticks { get; }

    /// <summary>
    /// A linear axis covering [lo, hi], widened to nice ticks unless <paramref name="exact"/>; with
    /// <paramref name="integer"/> the ticks are whole numbers only (counts, iterations, eps in 1/255).
    /// </summary>
    public static ChartAxis Linear(double lo, double hi, bool exact = false, int targetTicks = 6, bool integer = false)
    {
        if (!(hi > lo))
        {
            double pad = Math.Abs(lo) > 0 ? Math.Abs(lo) * 0.1 : 1.0;
            (lo, hi) = (lo - pad, hi + pad);
        }
        double step = NiceStep((hi - lo) / Math.Max(1, targetTicks - 1));
        if (integer) step = Math.Max(1, Math.Round(step));
        double min = exact ? lo : Math.Floor(lo / step + 1e-9) * step;
        double max = exact ? hi : Math.Ceiling(hi / step - 1e-9) * step;
        var ticks = new List<(double, string)>();
        for (double t = Math.Ceiling(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step)
        {
            double v = Math.Abs(t) < step * 1e-9 ? 0.0 : t;
            ticks.Add((v, Label(v, step)));
        }
        return new ChartAxis(min, max, false, ticks);
    }

    /// <summary>
    /// A log-10 axis covering [lo, hi] (both positive) with a little room at both ends; ticks at 1, 2 and 5 times
    /// powers of ten when the range spans at most two decades, else at the powers of ten.
    /// </summary>
    public static ChartAxis Logarithmic(double lo, double hi)
    {
        if (!(lo > 0) || !(hi > 0)) throw new ArgumentException("ChartAxis: a log axis needs positive bounds.");
        if (!(hi > lo)) (lo, hi) = (lo / 2, hi * 2);
        double min = lo / 1.15, max = hi * 1.15;
        int d0 = (int)Math.Floor(Math.Log10(min)), d1 = (int)Math.Ceiling(Math.Log10(max));
        bool fine = Math.Log10(max / min) <= 2.2;
        var ticks = new List<(double, string)>();
        for (int d = d0; d <= d1; d++)
            foreach (var m in fine ? new[] { 1.0, 2.0, 5.0 } : [1.0])
            {
                double v = m * Math.Pow(10, d);
                if (v >= min && v <= max) ticks.Add((v, Label(v, v)));
            }
        return new ChartAxis(min, max, true, ticks);
    }

    /// <summary>An axis over [lo, hi] (data and ticks together) with the given ticks and a little room at both ends.</summary>
    public static ChartAxis Explicit(double lo, double hi, bool log, IReadOnlyList<(double Value, string Label)> ticks)
    {
        var usable = ticks.Where(t => double.IsFinite(t.Value) && (!log || t.Value > 0)).ToList();
        if (usable.Count > 0) (lo, hi) = (Math.Min(lo, usable.Min(t => t.Value)), Math.Max(hi, usable.Max(t => t.Value)));
        if (log)
        {
            if (!(hi > lo)) (lo, hi) = (lo / 2, hi * 2);
            return new ChartAxis(lo / 1.15, hi * 1.15, true, usable);
        }
        if (!(hi > lo)) (lo, hi) = (lo - 1, hi + 1);
        double pad = (hi - lo) * 0.04;
        return new ChartAxis(lo - pad, hi + pad, false, usable);
    }

    /// <summary>The fraction (0 at <see cref="Min"/>, 1 at <see cref="Max"/>) of a value along the axis.</summary>
    public double Fraction(double value) => Log
        ? (Math.Log10(value) - Math.Log10(Min)) / (Math.Log10(Max) - Math.Log10(Min))
        : (value - Min) / (Max - Min);

    /// <summary>Whether a value can be drawn on this axis: finite, positive on a log axis, and within the range.</summary>
    public bool Accepts(double value)
    {
        if (!double.IsFinite(value) || (Log && value <= 0)) return false;
        double slack = Log ? 0 : (Max - Min) * 1e-9;
        return value >= Min * (Log ? 1 - 1e-9 : 1) - slack && value <= Max * (Log ? 1 + 1e-9 : 1) + slack;
    }

    /// <summary>The smallest of 1, 2, 5 times a power of ten that is at least <paramref name="rough"/>.</summary>
    public static double NiceStep(double rough)
    {
        if (!(rough > 0) || !double.IsFinite(rough)) return 1.0;
        double p = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double f = rough / p;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
    }

    /// <summary>A tick label with as many decimals as the step needs (scientific below 1e-4).</summary>
    public static string Label(double value, double step)
    {
        if (value == 0) return "0";
        if (Math.Abs(value) < 1e-4 || Math.Abs(value) >= 1e7) return Markup.Num(value, "0.##E+0");
        int decimals = Math.Clamp((int)Math.Ceiling(-Math.Log10(Math.Abs(step)) - 1e-9), 0, 8);
        return Markup.Num(value, "F" + decimals.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A rough width in pixels of <paramref name="text"/> at <paramref name="fontSize"/> in a sans-serif font.</summary>
    public static double TextWidth(string text, double fontSize) => text.Length * fontSize * 0.56;
}
