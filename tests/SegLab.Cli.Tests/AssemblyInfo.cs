// The CLI sets process-wide state (the engine's thread count for --threads, the GEMM provider), so its tests run
// one at a time: TrainCliTests' `bench train --threads 1` once changed the thread count under CliTests' check
// that `bench gemm --threads 1,2` restores it.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
