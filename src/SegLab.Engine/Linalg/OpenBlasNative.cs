// OpenBLAS entry points, resolved at run time from libopenblas.so.0 (Debian: libopenblas0-pthread) so that
// SegLab loads and runs without it.
using System.Runtime.InteropServices;

namespace SegLab.Engine.Linalg;

internal sealed unsafe class OpenBlasNative
{
    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;
    private readonly delegate* unmanaged<int, void> _setThreads;
    private readonly delegate* unmanaged<int> _getThreads;
    private readonly delegate* unmanaged<byte*> _getConfig;

    private OpenBlasNative(nint lib)
    {
        _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(lib, "cblas_sgemm");
        _setThreads = NativeLibrary.TryGetExport(lib, "openblas_set_num_threads", out var st) ? (delegate* unmanaged<int, void>)st : null;
        _getThreads = NativeLibrary.TryGetExport(lib, "openblas_get_num_threads", out var gt) ? (delegate* unmanaged<int>)gt : null;
        _getConfig = NativeLibrary.TryGetExport(lib, "openblas_get_config", out var gc) ? (delegate* unmanaged<byte*>)gc : null;
    }

    public const int RowMajor = 101, NoTrans = 111, Trans = 112;

    /// <summary>Loads the library, or returns null with the reason.</summary>
    public static OpenBlasNative? TryLoad(out string? why)
    {
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

    public string Config => _getConfig is null ? "unknown" : Marshal.PtrToStringAnsi((nint)_getConfig()) ?? "unknown";
}
