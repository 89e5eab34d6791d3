// BenchmarkDotNet entry point, e.g. dotnet run -c Release --project bench/SegLab.Bench -- --filter '*Gemm*'
// (SEGLAB_BLAS does not matter here: GemmBenchmarks names its provider explicitly.)
// Per-step profile of an import: dotnet run -c Release --project bench/SegLab.Bench -- onnx-profile FILE.onnx@HxW
// SegLab's ONNX import against ONNX Runtime: dotnet run -c Release --project bench/SegLab.Bench -- onnx-vs-ort FILE.onnx@HxW ...
if (args.Length > 0 && args[0] == "conv-parts") return SegLab.Bench.ConvParts.Run(args[1..]);
if (args.Length > 0 && args[0] == "onnx-ab") return SegLab.Bench.OnnxAb.Run(args[1..]);
if (args.Length > 0 && args[0] == "onnx-profile") return SegLab.Bench.OnnxProfile.Run(args[1..]);
if (args.Length > 0 && args[0] == "onnx-vs-ort") return SegLab.Bench.OnnxRuntimeComparison.Run(args[1..]);
BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(SegLab.Bench.GemmBenchmarks).Assembly).Run(args);
return 0;
