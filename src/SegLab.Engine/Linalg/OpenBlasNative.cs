// OpenBLAS entry points, resolved at run time from libopenblas.so.0 (Debian: libopenblas0-pthread) so that
// SegLab loads and runs without it.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace SegLab.Engine.Linalg;

internal sealed unsafe class OpenBlasNative
{
    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;
    private readonly delegate* unmanaged<int, void> _setThreads;
    private readonly delegate* unmanaged<int> _getThreads;
    private readonly delegate* unmanaged<byte*> _getConfig;
    private readonly delegate* unmanaged<byte*> _getCorename;

    private OpenBlasNative(nint lib)
    {
        _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(lib, "cblas_sgemm");
        _setThreads = NativeLibrary.TryGetExport(lib, "openblas_set_num_threads", out var st) ? (delegate* unmanaged<int, void>)st : null;
        _getThreads = NativeLibrary.TryGetExport(lib, "openblas_get_num_threads", out var gt) ? (delegate* unmanaged<int>)gt : null;
        _getConfig = NativeLibrary.TryGetExport(lib, "openblas_get_config", out var gc) ? (delegate* unmanaged<byte*>)gc : null;
        _getCorename = NativeLibrary.TryGetExport(lib, "openblas_get_corename", out var cn) ? (delegate* unmanaged<byte*>)cn : null;
    }

    public const int RowMajor = 101, NoTrans = 111, Trans = 112;

    /// <summary>
    /// The OPENBLAS_CORETYPE that SegLab asks for before loading the library, or null to leave OpenBLAS's own
    /// choice. Debian's OpenBLAS 0.3.21 does not know AMD's AVX-512 processors (Zen 4, Zen 5) and runs its Haswell
    /// (AVX2) kernels there; its SkylakeX kernels need only AVX-512 F, BW, DQ and VL, which those processors have.
    /// On a 2-core Zen 5 VM, 1024x1024 SGEMM on one thread: 96 GFLOP/s with Haswell, 182 with SkylakeX
    /// (docs/benchmarks.md). A user's own OPENBLAS_CORETYPE always wins; Intel processors are left to OpenBLAS,
    /// which knows them.
    /// </summary>
    internal static string? PreferredCoreType()
    {
        if (!Avx512F.IsSupported || !Avx512BW.IsSupported || !Avx512DQ.IsSupported || !Avx512F.VL.IsSupported) return null;
        return IsAmd() ? "SkylakeX" : null;
    }

    private static bool IsAmd()
    {
        if (!X86Base.IsSupported) return false;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<int> vendor = [ebx, edx, ecx];
        return MemoryMarshal.AsBytes(vendor).SequenceEqual("AuthenticAMD"u8);
    }

    /// <summary>The core type this process asked OpenBLAS for (null when it left OpenBLAS's choice).</summary>
    public static string? RequestedCoreType { get; private set; }

    [DllImport("libc.so.6", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    private static void RequestCoreType()
    {
        if (!OperatingSystem.IsLinux() || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE"))) return;
        string? core = PreferredCoreType();
        if (core is null) return;
        try
        {
            // OpenBLAS reads the variable with getenv in its load-time constructor: it must be in the C
            // environment, which Environment.SetEnvironmentVariable does not change on Linux.
            if (SetEnv("OPENBLAS_CORETYPE", core, 0) == 0) RequestedCoreType = core;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc to call: OpenBLAS keeps its own choice.
        }
    }

    /// <summary>Loads the library, or returns null with the reason.</summary>
    public static OpenBlasNative? TryLoad(out string? why)
    {
        RequestCoreType();
        foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "openblas" })
        {
            if (NativeLibrary.TryLoad(name, out var lib))
            {
                if (!NativeLibrary.TryGetExport(lib, "cblas_sgemm", out _))
                {
                    why = $"{name} has no cblas_sgemm";
                    return null;
                }
                why = null;
                return new OpenBlasNative(lib);
            }
        }
        why = "libopenblas.so.0 not found";
        return null;
    }

    public void Sgemm(bool ta, bool tb, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => _sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public void SetThreads(int n)
    {
        if (_setThreads is not null) _setThreads(n);
    }

    public int Threads => _getThreads is null ? -1 : _getThreads();

    /// <summary>The kernel family OpenBLAS chose (openblas_get_corename: Haswell, SkylakeX, Zen, ...), or "unknown".</summary>
    public string CoreName => _getCorename is null ? "unknown" : Marshal.PtrToStringAnsi((nint)_getCorename()) ?? "unknown";

    public string Config => _getConfig is null ? "unknown" : Marshal.PtrToStringAnsi((nint)_getConfig()) ?? "unknown";
}
