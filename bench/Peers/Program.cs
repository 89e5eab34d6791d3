using TorchSharp;
var t = torch.ones(3, 4);
Console.WriteLine($"{t.sum().item<float>()} {torch.__version__}");
