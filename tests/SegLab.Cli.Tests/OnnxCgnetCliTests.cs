// Issue 17's acceptance on the CLI: PyTorch's ONNX export of the pretrained CGNet (the committed fixture
// tests/SegLab.Tests/Fixtures/onnx/cgnet_camvid.onnx with its card, copied to cgnet.onnx) gives exactly the native
// CGNet's metrics in `seglab eval` and exactly its results in `seglab attack`, on the embedded CamVid val samples
// with the embedded CGNet weights (no ../shared needed). Only names, paths and timings may differ.
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace SegLab.Cli.Tests;

public sealed class OnnxCgnetCliTests : IDisposable
{
    // Keys whose values name the model, a path or the command, or are timings: everything else must be equal.
    private static readonly HashSet<string> Free = new(StringComparer.Ordinal)
    {
        "model", "root", "commandLine", "seconds", "imagesPerSecond", "secondsPerImage", "fingerprint",
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("seglab-onnx-cgnet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Samples => SegLab.Demo.Samples.Root();

    private static string NativeWeights => Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors");

    private string Export()
    {
        string fixture = Path.Combine(Path.GetDirectoryName(Here())!, "..", "SegLab.Tests", "Fixtures", "onnx", "cgnet_camvid.onnx");
        string path = Path.Combine(_dir, "cgnet.onnx");
        File.Copy(fixture, path);
        File.Copy(fixture + ".json", path + ".json");
        return path;
    }

    [Fact]
    public void Eval_of_the_export_gives_exactly_the_native_metrics()
    {
        string onnx = Export(), a = Path.Combine(_dir, "onnx"), b = Path.Combine(_dir, "native");
        var r = CliTests.Run("eval", "--model", onnx, "--data", Path.Combine(Samples, "camvid"), "--split", "val", "--limit", "3", "--out", a);
        Assert.True(r.Code == 0, r.Err);
        r = CliTests.Run("eval", "--model", "cgnet-camvid", "--weights", NativeWeights, "--data", Path.Combine(Samples, "camvid"), "--split", "val", "--limit", "3", "--out", b);
        Assert.True(r.Code == 0, r.Err);
        var (x, y) = (Read(a, "metrics.json"), Read(b, "metrics.json"));
        Assert.Equal(3, x.GetProperty("images").GetInt32());
        Assert.InRange(x.GetProperty("mIoU").GetDouble(), 50, 100); // not two equally broken runs
        AssertSame("metrics.json", x, y);
    }

    [Fact]
    public void Attack_on_the_export_gives_exactly_the_native_results()
    {
        string onnx = Export(), a = Path.Combine(_dir, "onnx"), b = Path.Combine(_dir, "native");
        string[] attack = ["--data", Path.Combine(Samples, "camvid"), "--limit", "1", "--attack", "pgd", "--steps", "2", "--no-random-start", "--eps", "2/255"];
        var r = CliTests.Run(["attack", "--model", onnx, .. attack, "--out", a]);
        Assert.True(r.Code == 0, r.Err);
        r = CliTests.Run(["attack", "--model", "cgnet-camvid", "--weights", NativeWeights, .. attack, "--out", b]);
        Assert.True(r.Code == 0, r.Err);
        var (x, y) = (Read(a, "robustness.json"), Read(b, "robustness.json"));
        var eps = x.GetProperty("eps")[0];
        Assert.True(eps.GetProperty("worstCase").GetProperty("mIoU").GetDouble() < eps.GetProperty("clean").GetProperty("mIoU").GetDouble(), "the attack did nothing");
        AssertSame("robustness.json", x, y);
    }

    private static JsonElement Read(string dir, string file) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, file))).RootElement;

    // Structural equality, numbers compared exactly; keys in Free are skipped.
    private static void AssertSame(string path, JsonElement x, JsonElement y)
    {
        Assert.True(x.ValueKind == y.ValueKind, $"{path}: {x.ValueKind} against {y.ValueKind}");
        switch (x.ValueKind)
        {
            case JsonValueKind.Object:
                var keys = x.EnumerateObject().Select(p => p.Name).Where(k => !Free.Contains(k)).ToList();
                Assert.Equal(keys, y.EnumerateObject().Select(p => p.Name).Where(k => !Free.Contains(k)).ToList());
                foreach (var k in keys) AssertSame($"{path}.{k}", x.GetProperty(k), y.GetProperty(k));
                break;
            case JsonValueKind.Array:
                Assert.True(x.GetArrayLength() == y.GetArrayLength(), $"{path}: {x.GetArrayLength()} against {y.GetArrayLength()} items");
                for (int i = 0; i < x.GetArrayLength(); i++) AssertSame($"{path}[{i}]", x[i], y[i]);
                break;
            case JsonValueKind.Number:
                Assert.True(x.GetDouble() == y.GetDouble(), $"{path}: the export gives {x.GetDouble():R}, the native CGNet {y.GetDouble():R}");
                break;
            default:
                Assert.True(x.ToString() == y.ToString(), $"{path}: '{x}' against '{y}'");
                break;
        }
    }

    private static string Here([CallerFilePath] string file = "") => file;
}
