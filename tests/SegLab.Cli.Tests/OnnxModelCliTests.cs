// An imported ONNX model with its card used wherever a model name is: eval and predict on the embedded CamVid samples,
// bench model; a missing card is a one-line error that shows an example card.
using System.Text.Json;

namespace SegLab.Cli.Tests;

public sealed class OnnxModelCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "seglab-onnx-cli", Guid.NewGuid().ToString("N"));

    public OnnxModelCliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Samples => SegLab.Demo.Samples.Root();

    private string Model(bool card = true)
    {
        string path = InspectCliTests.WriteConvModel(Path.Combine(_dir, "tiny.onnx"), 3, 11, unsupported: false, null, null);
        if (card)
            File.WriteAllText(path + ".json", """{ "classes": "camvid", "input": { "channels": "bgr", "scale": 255, "mean": [110, 108, 105], "std": [72, 72, 70] }, "outputs": 11 }""");
        return path;
    }

    [Fact]
    public void Eval_and_predict_run_an_onnx_model_with_its_card()
    {
        string model = Model();
        string outDir = Path.Combine(_dir, "eval");
        var r = CliTests.Run("eval", "--model", model, "--data", Path.Combine(Samples, "camvid"), "--limit", "2", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json")));
        Assert.Equal(2, doc.RootElement.GetProperty("images").GetInt32());
        Assert.Equal(11, doc.RootElement.GetProperty("perClassIoU").EnumerateObject().Count());
        string predDir = Path.Combine(_dir, "pred");
        var image = Directory.GetFiles(Path.Combine(Samples, "camvid", "val")).Order(StringComparer.Ordinal).First();
        var p = CliTests.Run("predict", "--model", model, "--input", image, "--out", predDir);
        Assert.True(p.Code == 0, p.Err);
        Assert.True(File.Exists(Path.Combine(predDir, Path.GetFileNameWithoutExtension(image) + ".png")));
    }

    [Fact]
    public void Bench_model_times_an_onnx_model()
    {
        var r = CliTests.Run("bench", "model", "--model", Model(), "--size", "32x48", "--repeats", "1", "--json");
        Assert.True(r.Code == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.True(doc.RootElement.GetProperty("forwardMs").GetDouble() > 0);
    }

    [Fact]
    public void A_missing_card_is_an_error_with_an_example()
    {
        string model = Model(card: false);
        var r = CliTests.Run("predict", "--model", model, "--input", Path.Combine(Samples, "camvid", "val"), "--out", Path.Combine(_dir, "p"));
        Assert.Equal(1, r.Code);
        Assert.Contains($"'{model}' has no model card: write '{model}.json'", r.Err, StringComparison.Ordinal);
        Assert.Contains("\"classes\": \"camvid\"", r.Err, StringComparison.Ordinal);
        Assert.Single(r.Err.Trim().Split('\n'));
    }
}
