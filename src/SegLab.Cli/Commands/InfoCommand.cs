// seglab info: what this machine gives the engine (SIMD, BLAS provider, threads), which image decoders load, and which
// shared data folder is used.
using System.CommandLine;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using SegLab.Engine.Linalg;
using SegLab.Engine.Threading;
using Spectre.Console;

namespace SegLab.Cli;

/// <summary>The engine's configuration on this machine.</summary>
internal sealed record EngineInfo(
    string Version, string Runtime, string Os, string Architecture, int ProcessorCount, int Threads, string ThreadPolicy,
    bool Vector256, bool Vector512, int VectorFloatCount, bool Avx2, bool Fma, bool Avx512F,
    string BlasProvider, string BlasConfiguration, bool OpenBlasAvailable, string BlasSetting, string? SharedFolder, string SharedFolderRule,
    string ImageCodecs, string PngDecoderSetting)
{
    public static EngineInfo Collect() => new(
        Cli.Version, RuntimeInformation.FrameworkDescription, RuntimeInformation.OSDescription, RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount, Parallelism.Threads, Parallelism.Describe(),
        System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated, System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, Vector<float>.Count,
        System.Runtime.Intrinsics.X86.Avx2.IsSupported, System.Runtime.Intrinsics.X86.Fma.IsSupported, System.Runtime.Intrinsics.X86.Avx512F.IsSupported,
        Gemm.Provider.Name, Gemm.Provider.Describe(), Gemm.OpenBlas is not null, Environment.GetEnvironmentVariable("SEGLAB_BLAS") ?? "auto",
        SharedData.Location.Root, SharedData.Location.Explanation,
        SegLab.Imaging.SkiaCodec.LoadError is { } why
            ? $"libSkiaSharp does not load ({why}): PNG and PPM/PGM only, by SegLab's own codecs; JPEG, WebP and BMP fail with this reason"
            : "SkiaSharp (libSkiaSharp loaded): JPEG, WebP, BMP and 8-bit grey/RGB/RGBA PNG; own codecs: palette, 16-bit, grey+alpha, low-bit and tRNS PNG, PPM/PGM",
        Environment.GetEnvironmentVariable(SegLab.Imaging.PngDecoding.Variable) ?? "auto");
}

internal static class InfoCommand
{
    private static string YesNo(bool b) => b ? "yes" : "no";

    public static Command Create(CliIO io)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var cmd = new Command("info", "Show the engine's configuration: SIMD, BLAS provider, threads.") { json };
        cmd.SetAction(r =>
        {
            Cli.ApplyThreads(r);
            var info = EngineInfo.Collect();
            if (r.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(info, JsonOptions.Indented));
                return 0;
            }
            var t = new Table().Border(TableBorder.Rounded).AddColumn("setting").AddColumn("value");
            void Row(string k, object v) => t.AddRow(Markup.Escape(k), Markup.Escape(Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? ""));
            Row("SegLab", info.Version);
            Row("runtime", info.Runtime);
            Row("OS", $"{info.Os} ({info.Architecture})");
            Row("processors", info.ProcessorCount);
            Row("engine threads (SEGLAB_THREADS)", info.ThreadPolicy);
            Row("SIMD", $"Vector256 {YesNo(info.Vector256)}, Vector512 {YesNo(info.Vector512)}, Vector<float> {info.VectorFloatCount} lanes");
            Row("x86 features", $"AVX2 {YesNo(info.Avx2)}, FMA {YesNo(info.Fma)}, AVX-512F {YesNo(info.Avx512F)}");
            Row("BLAS (SEGLAB_BLAS=" + info.BlasSetting + ")", info.BlasProvider);
            Row("BLAS configuration", info.BlasConfiguration);
            Row("OpenBLAS available", !info.OpenBlasAvailable ? "no (apt-get install libopenblas0-pthread)"
                : Gemm.OpenBlas is { } ob && !ReferenceEquals(Gemm.Provider, ob)
                    ? $"yes, {ob.CoreName} kernels{(ob.UsesAvx512Kernels ? "" : " (not AVX-512: auto prefers the managed AVX-512 kernel)")}"
                    : "yes");
            Row($"image decoders ({SegLab.Imaging.PngDecoding.Variable}={info.PngDecoderSetting})", info.ImageCodecs);
            Row("shared data folder", info.SharedFolder is null ? $"none ({info.SharedFolderRule})" : $"{info.SharedFolder} ({info.SharedFolderRule})");
            io.Console.Write(t);
            return 0;
        });
        return cmd;
    }
}

/// <summary>Shared JSON settings: camelCase, indented.</summary>
internal static class JsonOptions
{
    public static JsonSerializerOptions Indented { get; } = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };
}
