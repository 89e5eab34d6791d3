// The bad-input table of docs/reliability.md, row by row, as a user meets it: each bad input is given to the real
// command over an output folder that already holds a good result, and must give one error line naming the file (or
// option) and the problem, the documented exit code (1 data, 2 usage), and leave the earlier result byte for byte.
using System.Text;
using System.Text.Json.Nodes;
using SegLab.Engine;
using SegLab.Engine.Serialization;

namespace SegLab.Cli.Tests;

public sealed class BadInputTableTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("seglab-badinput-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static string Samples => SegLab.Demo.Samples.Root();

    private static string GoodWeights => Path.Combine(Samples, "models", "cgnet_m3n21_camvid.safetensors");

    // A copy of two sample pairs, so that a row can damage one file.
    private string Data(string name)
    {
        string data = Path.Combine(_tmp, name);
        foreach (var sub in new[] { "val", "valannot" })
        {
            Directory.CreateDirectory(Path.Combine(data, sub));
            foreach (var f in Directory.GetFiles(Path.Combine(Samples, "camvid", sub)).Order(StringComparer.Ordinal).Take(2))
                File.Copy(f, Path.Combine(data, sub, Path.GetFileName(f)));
        }
        return data;
    }

    private static string First(string dir) => Directory.GetFiles(dir).Order(StringComparer.Ordinal).First();

    // A safetensors file of CGNet's weights with one entry changed (or a header edited).
    private string Weights(string name, Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> change)
    {
        var tensors = change(SafeTensors.Load(GoodWeights).ToTensors().ToDictionary(kv => kv.Key, kv => kv.Value));
        string path = Path.Combine(_tmp, name + ".safetensors");
        SafeTensors.Save(path, tensors);
        return path;
    }

    private string HeaderEdited(string name, Action<JsonObject> edit)
    {
        byte[] bytes = File.ReadAllBytes(GoodWeights);
        long n = BitConverter.ToInt64(bytes, 0);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n))!.AsObject();
        edit(header);
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        var head = new byte[8 + padded];
        BitConverter.GetBytes((long)padded).CopyTo(head, 0);
        json.CopyTo(head, 8);
        for (int i = 8 + json.Length; i < head.Length; i++) head[i] = (byte)' ';
        string path = Path.Combine(_tmp, name + ".safetensors");
        File.WriteAllBytes(path, [.. head, .. bytes.AsSpan(8 + (int)n).ToArray()]);
        return path;
    }

    public static TheoryData<string> Rows => new()
    {
        "corrupt-png", "truncated-png", "size-mismatch", "label-out-of-range", "empty-dataset", "missing-dataset",
        "truncated-weights", "declared-size-exceeds-file", "wrong-tensor-names", "wrong-tensor-shape", "wrong-tensor-dtype",
        "unknown-model", "bad-shard", "bad-limit", "output-not-writable",
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void A_bad_input_is_one_line_with_the_documented_exit_code_and_the_earlier_result_is_kept(string row)
    {
        string outDir = Path.Combine(_tmp, "out");
        var good = CliTests.Run("eval", "--model", "cgnet-camvid", "--weights", GoodWeights, "--data", Data("good"), "--worst", "0", "--out", outDir);
        Assert.True(good.Code == 0, good.Err);
        var before = Directory.GetFiles(outDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToDictionary(f => f, File.ReadAllBytes);

        string data = Data("data"), weights = GoodWeights, model = "cgnet-camvid", target = outDir;
        var extra = new List<string>();
        (int code, string named) expect;
        switch (row)
        {
            case "corrupt-png":
                File.WriteAllBytes(First(Path.Combine(data, "val")), Encoding.ASCII.GetBytes("\u0089PNG\r\n\u001a\nnot really a png at all"));
                expect = (1, Path.GetFileName(First(Path.Combine(data, "val"))));
                break;
            case "truncated-png":
                var img = First(Path.Combine(data, "val"));
                File.WriteAllBytes(img, File.ReadAllBytes(img)[..5000]);
                expect = (1, Path.GetFileName(img));
                break;
            case "size-mismatch":
                var lab = First(Path.Combine(data, "valannot"));
                SegLab.Imaging.Png.Save(lab, new SegLab.Imaging.Image(4, 3, 1, new byte[12]));
                expect = (1, Path.GetFileName(lab));
                break;
            case "label-out-of-range":
                var lab2 = First(Path.Combine(data, "valannot"));
                var l = SegLab.Imaging.Png.Load(lab2);
                l.Pixels[100] = 50;
                SegLab.Imaging.Png.Save(lab2, l);
                expect = (1, Path.GetFileName(lab2));
                break;
            case "empty-dataset":
                foreach (var f in Directory.GetFiles(data, "*", SearchOption.AllDirectories)) File.Delete(f);
                expect = (1, "data");
                break;
            case "missing-dataset":
                data = Path.Combine(_tmp, "no-such-folder");
                expect = (1, "no-such-folder");
                break;
            case "truncated-weights":
                weights = Path.Combine(_tmp, "truncated.safetensors");
                File.WriteAllBytes(weights, File.ReadAllBytes(GoodWeights)[..300000]);
                expect = (1, "truncated.safetensors");
                break;
            case "declared-size-exceeds-file":
                weights = HeaderEdited("oversized", h =>
                {
                    var first = h.First(kv => kv.Key != "__metadata__").Value!.AsObject();
                    first["data_offsets"]![1] = 1L << 40;
                });
                expect = (1, "oversized.safetensors");
                break;
            case "wrong-tensor-names":
                weights = Weights("renamed", t => t.ToDictionary(kv => "module." + kv.Key, kv => kv.Value));
                expect = (1, "renamed.safetensors");
                break;
            case "wrong-tensor-shape":
                weights = Weights("reshaped", t =>
                {
                    var key = t.Keys.First(k => k.EndsWith(".weight", StringComparison.Ordinal) && t[k].Shape.Length == 4);
                    t[key] = Tensor.Zeros(1, 1, 1, 1);
                    return t;
                });
                expect = (1, "reshaped.safetensors");
                break;
            case "wrong-tensor-dtype":
                weights = HeaderEdited("retyped", h =>
                {
                    var entry = h.First(kv => kv.Key != "__metadata__" && kv.Key.EndsWith(".weight", StringComparison.Ordinal)).Value!.AsObject();
                    entry["dtype"] = "I32"; // same width as F32, so the offsets still agree: only the type is wrong
                });
                expect = (1, "retyped.safetensors");
                break;
            case "unknown-model":
                model = "cgnet-kitti";
                expect = (2, "cgnet-kitti");
                break;
            case "bad-shard":
                extra.AddRange(["--shard", "2/1"]);
                expect = (2, "--shard");
                break;
            case "bad-limit":
                extra.AddRange(["--limit", "0"]);
                expect = (2, "--limit");
                break;
            case "output-not-writable":
                target = Path.Combine(outDir, "metrics.json"); // a file where a folder must go
                expect = (1, "metrics.json");
                break;
            default:
                throw new ArgumentException(row);
        }

        var r = CliTests.Run(["eval", "--model", model, "--weights", weights, "--data", data, "--worst", "0", "--out", target, .. extra]);
        Assert.True(r.Code == expect.code, $"{row}: exit {r.Code}, {r.Err}");
        Assert.StartsWith("error: ", r.Err, StringComparison.Ordinal);
        Assert.Single(r.Err.TrimEnd().Split('\n'));
        Assert.Contains(expect.named, r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
        var after = Directory.GetFiles(outDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToDictionary(f => f, File.ReadAllBytes);
        Assert.Equal(before.Keys, after.Keys);
        foreach (var (f, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(after[f]), $"{row}: {f} changed");
    }

    [Fact]
    public void A_config_without_a_required_field_names_it_and_starts_no_run()
    {
        string config = Path.Combine(_tmp, "nodir.yaml"), outDir = Path.Combine(_tmp, "run");
        File.WriteAllText(config, "model: {family: unet, widths: [4, 8]}\nschedule: {iterations: 2}\n");
        var r = CliTests.Run("train", "--config", config, "--out", outDir);
        Assert.Equal(1, r.Code);
        Assert.StartsWith("error: data.dir:", r.Err, StringComparison.Ordinal);
        Assert.Single(r.Err.TrimEnd().Split('\n'));
        Assert.False(Directory.Exists(outDir), "a run folder was created for a config that cannot run");
    }
}
