// An imported model with its card (FILE.onnx.json) as a SegmentationModel: the card's channel order, scale, mean
// and std applied before the graph, classes from a table name or a list of names, gradients to the image, other
// weights by state-dict name, and every card mistake an error naming the card.
using SegLab.Engine;
using SegLab.Engine.Autograd;
using SegLab.Engine.Serialization;
using SegLab.Onnx;
using SegLab.Training;

namespace SegLab.Tests.Onnx;

public sealed class OnnxModelCardTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "seglab-onnx-card", Guid.NewGuid().ToString("N"));

    public OnnxModelCardTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // x [N, 3, H, W] -> Conv 3->4 (3x3, pad 1) -> Relu -> Conv 4->4 (1x1) -> y
    private string Model(string? card)
    {
        var bytes = new OnnxBuilder(13).Input("x", null, 3, null, null).Output("y")
            .Random("stem.weight", [4, 3, 3, 3]).Random("stem.bias", [4]).Random("head.weight", [4, 4, 1, 1])
            .Node("Conv", ["x", "stem.weight", "stem.bias"], ["c"], ("pads", new long[] { 1, 1, 1, 1 })).Node("Relu", ["c"], ["r"])
            .Node("Conv", ["r", "head.weight"], ["y"]).Bytes();
        string path = Path.Combine(_dir, "net.onnx");
        File.WriteAllBytes(path, bytes);
        if (card is not null) File.WriteAllText(path + ".json", card);
        return path;
    }

    [Fact]
    public void Card_preprocessing_runs_before_the_graph()
    {
        string path = Model("""{ "classes": ["road", "car", "sky", "tree"], "input": { "channels": "bgr", "scale": 255, "mean": [100, 110, 120], "std": [50, 60, 70] } }""");
        var model = TrainedModel.Resolve(path);
        Assert.Equal(4, model.NumClasses);
        var rgb = Tensor.FromArray(Array.ConvertAll(OnnxParity.RandomInput([1, 3, 5, 6], 3), v => (v + 2) / 4), 1, 3, 5, 6);
        var got = model.Forward(rgb).ToArray();
        // By hand: channel c of the input is (255 * rgb[2 - c] - mean[c]) / std[c].
        double[] mean = [100, 110, 120], std = [50, 60, 70];
        var x = new float[rgb.Numel];
        var src = rgb.ToArray();
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 30; i++) x[c * 30 + i] = (float)((255 * src[(2 - c) * 30 + i] - mean[c]) / std[c]);
        var graph = OnnxGraph.Load(path);
        var want = graph.Forward(Tensor.FromArray(x, 1, 3, 5, 6)).ToArray();
        OnnxParity.Compare("card preprocessing", got, want);
        Assert.Equal(["road", "car", "sky", "tree"], TrainedModel.Classes(path).Names);
    }

    [Fact]
    public void Gradients_reach_the_image_and_other_weights_load_by_name()
    {
        string path = Model("""{ "classes": ["a", "b", "c", "d"], "input": { "channels": "rgb" }, "outputs": 4 }""");
        var model = TrainedModel.Resolve(path);
        var rgb = Tensor.FromArray(Array.ConvertAll(OnnxParity.RandomInput([1, 3, 4, 4], 5), v => (v + 2) / 4), 1, 3, 4, 4);
        rgb.RequiresGrad = true;
        var g = Tape.Grad(Ops.Sum(model.Forward(rgb)), [rgb])[0];
        Assert.Equal(rgb.ShapeArray(), g.ShapeArray());
        Assert.Contains(g.ToArray(), v => v != 0);
        // Weights saved from the graph's state dict, scaled, load back by ONNX name and change the output.
        var state = model.Network.StateDict().ToDictionary(kv => kv.Key, kv => Ops.Mul(kv.Value.Detach(), 2.0));
        string weights = Path.Combine(_dir, "w.safetensors");
        SafeTensors.Save(weights, state);
        var doubled = TrainedModel.Resolve(path, weights);
        Assert.Equal(2 * model.Network.StateDict()["head.weight"].ToArray()[0], doubled.Network.StateDict()["head.weight"].ToArray()[0], 6);
    }

    [Theory]
    [InlineData(null, "has no model card: write")]
    [InlineData("""{ "classes": "camvid" }""", "'input' is required")]
    [InlineData("""{ "classes": "camvid", "input": { "channels": "hsv" } }""", "'input.channels' is 'hsv'")]
    [InlineData("""{ "classes": "camvid", "input": { "channels": "rgb", "mean": [1, 2] } }""", "'input.mean' must be three numbers")]
    [InlineData("""{ "classes": "camvid", "input": { "channels": "rgb", "colour": 1 } }""", "unknown key 'input.colour'")]
    [InlineData("""{ "classes": "camvid", "input": { "channels": "rgb" }, "outputs": 12 }""", "'outputs' is 12 but the class table has 11 classes")]
    [InlineData("""{ "classes": [], "input": { "channels": "rgb" } }""", "'classes' is empty")]
    [InlineData("""{ "classes": "camvid", "input": { "channels": "rgb", "std": [1, 0, 1] } }""", "must be positive")]
    [InlineData("""not json""", "not valid JSON")]
    public void Card_mistakes_are_errors_naming_the_card_with_an_example(string? card, string expected)
    {
        string path = Model(card);
        var e = Assert.ThrowsAny<Exception>(() => TrainedModel.Resolve(path));
        Assert.True(e is FormatException or FileNotFoundException, e.GetType().Name);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(path + ".json", e.Message, StringComparison.Ordinal);
        Assert.Contains("\"channels\": \"rgb\"", e.Message, StringComparison.Ordinal);
    }
}
