// The few functions of the TurboJPEG C API (libjpeg-turbo's turbojpeg.h, API version 2) that SegLab calls, bound at
// run time with NativeLibrary so that a machine without libturbojpeg still runs everything but JPEG decoding.
using System.Runtime.InteropServices;

namespace SegLab.Imaging;

/// <summary>Function pointers into libturbojpeg, loaded once; <see cref="Instance"/> is null when the library is missing.</summary>
internal sealed unsafe class JpegNative
{
    /// <summary>TJPF_RGB: interleaved R, G, B.</summary>
    public const int PixelFormatRgb = 0;

    /// <summary>TJPF_GRAY: one luminance sample.</summary>
    public const int PixelFormatGray = 6;

    /// <summary>TJCS_GRAY: the JPEG holds luminance only.</summary>
    public const int ColorspaceGray = 2;

    /// <summary>TJFLAG_ACCURATEDCT: the slow, exact inverse DCT.</summary>
    public const int FlagAccurateDct = 4096;

    /// <summary>The message for a machine without the library.</summary>
    public const string MissingMessage = "JPEG decoding needs libturbojpeg (Debian/Ubuntu: apt-get install libturbojpeg0)";

    private static readonly string[] Names = ["libturbojpeg.so.0", "libturbojpeg.so", "libturbojpeg.0.dylib", "libturbojpeg.dylib", "turbojpeg.dll", "turbojpeg"];
    private static readonly Lazy<JpegNative?> Loaded = new(Load);

    public delegate* unmanaged[Cdecl]<nint> InitDecompress;
    public delegate* unmanaged[Cdecl]<nint, byte*, CULong, int*, int*, int*, int*, int> DecompressHeader3;
    public delegate* unmanaged[Cdecl]<nint, byte*, CULong, byte*, int, int, int, int, int, int> Decompress2;
    public delegate* unmanaged[Cdecl]<nint> InitCompress;
    public delegate* unmanaged[Cdecl]<nint, byte*, int, int, int, int, byte**, CULong*, int, int, int, int> Compress2;
    public delegate* unmanaged[Cdecl]<byte*, void> Free;
    public delegate* unmanaged[Cdecl]<nint, byte*> GetErrorStr2;
    public delegate* unmanaged[Cdecl]<nint, int> Destroy;

    /// <summary>Tests set this to see this thread behave as on a machine without the library.</summary>
    [ThreadStatic]
    internal static bool SimulateMissing;

    /// <summary>The loaded library, or null when no libturbojpeg could be loaded.</summary>
    public static JpegNative? Instance => SimulateMissing ? null : Loaded.Value;

    /// <summary>The library, or an ImageException saying how to install it.</summary>
    /// <param name="name">The file being decoded, for the message.</param>
    public static JpegNative Require(string name) => Instance ?? throw new ImageException($"JPEG {name}: {MissingMessage}.");

    /// <summary>The error message of <paramref name="handle"/>'s last call.</summary>
    /// <param name="handle">A TurboJPEG handle.</param>
    public string Error(nint handle) => Marshal.PtrToStringUTF8((nint)GetErrorStr2(handle)) ?? "unknown error";

    private static JpegNative? Load()
    {
        foreach (var name in Names)
        {
            if (!NativeLibrary.TryLoad(name, typeof(JpegNative).Assembly, null, out var lib)) continue;
            bool Get(string symbol, out nint address) => NativeLibrary.TryGetExport(lib, symbol, out address);
            if (Get("tjInitDecompress", out var a) && Get("tjDecompressHeader3", out var b) && Get("tjDecompress2", out var c)
                && Get("tjInitCompress", out var d) && Get("tjCompress2", out var e) && Get("tjFree", out var f)
                && Get("tjGetErrorStr2", out var g) && Get("tjDestroy", out var h))
            {
                return new JpegNative
                {
                    InitDecompress = (delegate* unmanaged[Cdecl]<nint>)a,
                    DecompressHeader3 = (delegate* unmanaged[Cdecl]<nint, byte*, CULong, int*, int*, int*, int*, int>)b,
                    Decompress2 = (delegate* unmanaged[Cdecl]<nint, byte*, CULong, byte*, int, int, int, int, int, int>)c,
                    InitCompress = (delegate* unmanaged[Cdecl]<nint>)d,
                    Compress2 = (delegate* unmanaged[Cdecl]<nint, byte*, int, int, int, int, byte**, CULong*, int, int, int, int>)e,
                    Free = (delegate* unmanaged[Cdecl]<byte*, void>)f,
                    GetErrorStr2 = (delegate* unmanaged[Cdecl]<nint, byte*>)g,
                    Destroy = (delegate* unmanaged[Cdecl]<nint, int>)h,
                };
            }
            NativeLibrary.Free(lib);
        }
        return null;
    }
}
