// The real checkpoints and reference tensors in ../shared load and validate, match their manifests (every name,
// dtype and shape, in order), and hold a few known facts. Where ../shared is absent these tests report as skipped.
using System.Runtime.CompilerServices;
using System.Text.Json;
using SegLab.Engine.Serialization;
using Xunit.Abstractions;

namespace SegLab.Engine.Tests.Serialization;

public class SafeTensorsRealFileTests(ITestOutputHelper output)
{
    /// <summary>../shared beside the repository root (the directory holding SegLab.slnx), or null.</summary>
    internal static string? FindShared([CallerFilePath] string sourceFile = "")
    {
        // The same rule as SegLab.SharedData (which this assembly cannot see): SEGLAB_SHARED wins when set.
        var variable = Environment.GetEnvironmentVariable("SEGLAB_SHARED");
        if (!string.IsNullOrEmpty(variable)) return Directory.Exists(variable) ? Path.GetFullPath(variable) : null;
        // The build output may live outside the repository (-p:ArtifactsPath=...); the source path is the fallback.
        foreach (string? start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile), Directory.GetCurrentDirectory() })
        {
            for (var d = start is null ? null : new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                if (!File.Exists(Path.Combine(d.FullName, "SegLab.slnx"))) continue;
                string shared = Path.GetFullPath(Path.Combine(d.FullName, "..", "shared"));
                if (Directory.Exists(shared)) return shared;
                break;
            }
        }
        return null;
    }

    private string SharedOrSkip()
    {
        string? shared = FindShared();
        Skip.If(shared is null, "../shared (beside the directory containing SegLab.slnx, or SEGLAB_SHARED) was not found: real-file checks not run.");
        output.WriteLine($"shared data: {shared}");
        return shared!;
    }

    private static IEnumerable<string> SafeTensorFiles(string shared) =>
        new[] { "models", "reference" }
            .Select(d => Path.Combine(shared, d))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.safetensors", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal);

    [SkippableFact]
    public void SafeTensors_EveryRealFile_LoadsValidatesAndConverts()
    {
        var shared = SharedOrSkip();
        var files = SafeTensorFiles(shared).ToList();
        Assert.NotEmpty(files);
        foreach (string path in files)
        {
            var f = SafeTensors.Load(path);
            Assert.True(f.Count > 0, path);
            long dataBytes = 0;
            foreach (var e in f.Entries)
            {
                var t = e.ToTensor();
                Assert.Equal(e.ShapeArray(), t.ShapeArray());
                Assert.Equal(e.Numel, t.Numel);
                if (e.DType.IsInteger()) Assert.Equal(e.ToInt64().Select(v => (float)v), t.ToArray());
                dataBytes += e.End - e.Begin;
            }
            Assert.Equal(new FileInfo(path).Length, 8 + f.HeaderLength + dataBytes);
            var dtypes = f.Entries.GroupBy(e => e.DType).Select(g => $"{g.Key.HeaderName()} x{g.Count()}");
            output.WriteLine($"{Path.GetFileName(path)}: {new FileInfo(path).Length} bytes, header {f.HeaderLength}, {f.Count} tensors ({string.Join(", ", dtypes)}), metadata keys [{string.Join(", ", f.Metadata.Keys)}]");
        }
    }

    [SkippableFact]
    public void SafeTensors_ModelFiles_MatchTheirManifests()
    {
        var shared = SharedOrSkip();
        var manifests = Directory.EnumerateFiles(Path.Combine(shared, "models"), "*.manifest.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(manifests);
        foreach (string manifestPath in manifests)
        {
            string modelPath = manifestPath[..^".manifest.json".Length] + ".safetensors";
            var file = SafeTensors.Load(modelPath);
            using var doc = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
            var expected = doc.RootElement.EnumerateObject().ToList();
            Assert.Equal(expected.Select(p => p.Name), file.Names);
            foreach (var p in expected)
            {
                var e = file[p.Name];
                Assert.Equal(p.Value.GetProperty("dtype").GetString(), e.DType.HeaderName());
                Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()), e.ShapeArray());
            }
            output.WriteLine($"{Path.GetFileName(modelPath)}: {expected.Count} tensors match the manifest");
        }
    }

    [SkippableFact]
    public void SafeTensors_RealFiles_KnownFacts()
    {
        var shared = SharedOrSkip();
        var cgnet = SafeTensors.Load(Path.Combine(shared, "models", "cgnet-camvid", "cgnet_m3n21_camvid.safetensors"));
        Assert.Equal("800", cgnet.Metadata["epoch"]);
        Assert.Equal("model_800.pth", cgnet.Metadata["source"]);
        var nbt = cgnet["level1_0.bn.num_batches_tracked"];
        Assert.Equal(SafeTensorDType.I64, nbt.DType);
        Assert.Equal(0, nbt.Rank);
        Assert.Equal([46400L], nbt.ToInt64());
        Assert.Equal([32, 3, 3, 3], cgnet["level1_0.conv.weight"].ShapeArray());
        Assert.Equal(1208783L, SafeTensors.Load(Path.Combine(shared, "models", "espnetv2-voc", "espnetv2_s_0.5_pascal_256x256.safetensors"))["base_net.level1.bn.num_batches_tracked"].ToInt64()[0]);

        foreach (var (model, classes, lossBits) in new[] { ("cgnet-camvid", 11, 0x3D825379u), ("espnet-camvid", 12, 0x3E3854EAu) })
        {
            var r = SafeTensors.Load(Path.Combine(shared, "reference", $"{model}_val_0016E5_07959.safetensors"));
            Assert.Equal([1, 3, 360, 480], r["input"].ShapeArray());
            Assert.Equal([1, classes, 360, 480], r["logits"].ShapeArray());
            Assert.Equal([1, 360, 480], r["label"].ShapeArray());
            Assert.Equal(0, r["loss"].Rank);
            Assert.Equal(lossBits, BitConverter.SingleToUInt32Bits(r["loss"].ToTensor().Span[0]));
            Assert.All(r["label"].ToTensor().ToArray(), v => Assert.True(v == MathF.Round(v) && v is >= 0 and <= 11));
            Assert.Equal(classes.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Metadata["num_logits"]);
            Assert.Equal("172121", r.Metadata["num_non_void_pixels"]);

            // Every parameter gradient names a parameter of the model file with the same shape.
            string modelFile = Directory.EnumerateFiles(Path.Combine(shared, "models", model), "*.safetensors").Single();
            var weights = SafeTensors.Load(modelFile);
            var grads = r.Entries.Where(e => e.Name.StartsWith("small_param_grad.", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(grads);
            foreach (var g in grads)
                Assert.Equal(weights[g.Name["small_param_grad.".Length..]].ShapeArray(), g.ShapeArray());
            output.WriteLine($"{model}: {grads.Count} parameter gradients, loss {r["loss"].ToTensor().Item()}");
        }
    }
}
