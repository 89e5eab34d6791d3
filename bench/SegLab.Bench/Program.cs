// BenchmarkDotNet entry point, e.g. dotnet run -c Release --project bench/SegLab.Bench -- --filter '*Gemm*'
// (SEGLAB_BLAS does not matter here: GemmBenchmarks names its provider explicitly.)
BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(SegLab.Bench.GemmBenchmarks).Assembly).Run(args);
