// Files that NuGet packages bring by restore (the ImageNet ResNet18 ONNX of Microsoft.ML.DnnImageFeaturizer.ResNet18),
// found in the NuGet global packages folder: NUGET_PACKAGES when set, else ~/.nuget/packages, with the package id and
// version in lower case as NuGet lays them out (id/version/...). Nothing is downloaded at run time.
namespace SegLab;

/// <summary>Locates files inside restored NuGet packages.</summary>
public static class NuGetPackages
{
    /// <summary>The global packages folder (NUGET_PACKAGES, else ~/.nuget/packages), or null when neither exists.</summary>
    public static string? Root
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
            if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? Path.GetFullPath(env) : null;
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            var path = Path.Combine(home, ".nuget", "packages");
            return Directory.Exists(path) ? path : null;
        }
    }

    /// <summary>Full path of <paramref name="relative"/> in package <paramref name="id"/> <paramref name="version"/>, or null if not restored.</summary>
    /// <param name="id">Package id (any case).</param>
    /// <param name="version">Package version, e.g. "0.24.0".</param>
    /// <param name="relative">Path inside the package, e.g. "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx".</param>
    public static string? Find(string id, string version, string relative)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(relative);
        if (Root is not { } root) return null;
        var path = Path.Combine(root, id.ToLowerInvariant(), version.ToLowerInvariant(), relative);
        return File.Exists(path) ? path : null;
    }

    /// <summary>The ImageNet ResNet18 (CNTK export, opset 8, up to global pooling), restored by the test project's PackageDownload.</summary>
    public static string? ResNet18Onnx => Find("Microsoft.ML.DnnImageFeaturizer.ResNet18", "0.24.0", "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx");

    /// <summary>Its preprocessing graph (Split, Concat, Sub) from the same package.</summary>
    public static string? ResNet18PreprocessOnnx => Find("Microsoft.ML.DnnImageFeaturizer.ResNet18", "0.24.0", "tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx");
}
