// BenchmarkDotNet entry point: dotnet run -c Release --project bench/SegLab.Bench -- --filter '*Gemm*'
BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(SegLab.Bench.GemmBenchmarks).Assembly).Run(args);
