// A bounded mutation fuzzer for SegLab's readers, on CsCheck (random generation with shrinking): a valid input is
// mutated (bit flips, bytes set to boundary values, 32- and 64-bit lengths overwritten, truncation, deletion,
// insertion, duplication) and the reader must either accept it or throw its documented error: no other exception,
// no hang, and no allocation beyond what the input's real length allows. A failure prints CsCheck's seed to replay.
using System.Diagnostics;
using CsCheck;

namespace SegLab.Tests.Fuzz;

/// <summary>Runs one reader over mutated inputs.</summary>
internal static class MutationFuzz
{
    /// <summary>What a fuzz run saw.</summary>
    /// <param name="Inputs">Mutated inputs read.</param>
    /// <param name="Accepted">Inputs the reader accepted.</param>
    /// <param name="Rejected">Inputs that gave the documented error.</param>
    /// <param name="MaxAllocatedBytes">Largest allocation by one read.</param>
    public sealed record Outcome(int Inputs, int Accepted, int Rejected, long MaxAllocatedBytes);

    /// <summary>Mutated inputs per reader: 2,000 in CI; SEGLAB_FUZZ_ITERATIONS sets more for a longer campaign.</summary>
    public static int Iterations { get; } = int.TryParse(Environment.GetEnvironmentVariable("SEGLAB_FUZZ_ITERATIONS"), out int n) && n > 0 ? n : 2000;

    private static readonly uint[] Boundaries = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];

    /// <summary>
    /// Reads <paramref name="iterations"/> mutations of <paramref name="seeds"/> with <paramref name="read"/>; any exception
    /// that is not a <typeparamref name="TError"/>, a read over <paramref name="hangSeconds"/>, or an allocation over
    /// <paramref name="allocationBudget"/>(input length) fails the test.
    /// </summary>
    public static Outcome Run<TError>(IReadOnlyList<byte[]> seeds, Action<byte[]> read, Func<long, long> allocationBudget, int iterations = 0, double hangSeconds = 5)
        where TError : Exception =>
        Run(seeds, read, e => e is TError, typeof(TError).Name, allocationBudget, iterations, hangSeconds);

    /// <summary>As <see cref="Run{TError}"/>, for a reader with more than one documented error type.</summary>
    public static Outcome Run(IReadOnlyList<byte[]> seeds, Action<byte[]> read, Func<Exception, bool> documented, string documentedName,
        Func<long, long> allocationBudget, int iterations = 0, double hangSeconds = 5)
    {
        if (iterations <= 0) iterations = Iterations;
        int accepted = 0, rejected = 0, inputs = 0;
        long maxAlloc = 0;
        var gen = Gen.Select(Gen.Int[0, seeds.Count - 1], Gen.UInt.Array[2, 24]);
        gen.Sample((seed, tape) =>
        {
            var input = Mutate(seeds[seed], tape);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            try
            {
                read(input);
                accepted++;
            }
            catch (Exception e) when (documented(e))
            {
                rejected++;
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"a {input.Length}-byte mutation raised {e.GetType().Name}, not {documentedName}: {e.Message}", e);
            }
            inputs++;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            maxAlloc = Math.Max(maxAlloc, allocated);
            if (clock.Elapsed.TotalSeconds > hangSeconds)
                throw new InvalidOperationException($"a {input.Length}-byte mutation took {clock.Elapsed.TotalSeconds:F1} s to read (hang guard {hangSeconds} s)");
            if (allocated > allocationBudget(input.Length))
                throw new InvalidOperationException($"a {input.Length}-byte mutation allocated {allocated} bytes, over the budget of {allocationBudget(input.Length)}");
        }, iter: iterations, threads: 1);
        return new Outcome(inputs, accepted, rejected, maxAlloc);
    }

    /// <summary>Applies the mutations a random tape describes (two words each) to a copy of <paramref name="valid"/>.</summary>
    public static byte[] Mutate(byte[] valid, uint[] tape)
    {
        var data = new List<byte>(valid);
        for (int t = 0; t + 1 < tape.Length; t += 2)
        {
            uint op = tape[t] % 8, arg = tape[t + 1];
            int n = data.Count;
            int pos = n == 0 ? 0 : (int)(arg % (uint)n);
            switch (op)
            {
                case 0 when n > 0: data[pos] ^= (byte)(1 << (int)(tape[t] / 8 % 8)); break;
                case 1 when n > 0: data[pos] = (byte)Boundaries[tape[t] / 8 % (uint)Boundaries.Length]; break;
                case 2 when n >= 4: Overwrite(data, Math.Min(pos, n - 4), Boundaries[tape[t] / 8 % (uint)Boundaries.Length], 4); break;
                case 3 when n >= 8: Overwrite(data, Math.Min(pos, n - 8), (ulong)Boundaries[tape[t] / 8 % (uint)Boundaries.Length] << 24, 8); break;
                case 4: data.RemoveRange(pos, n - pos); break;
                case 5 when n > 0: data.RemoveRange(pos, Math.Min(n - pos, 1 + (int)(tape[t] / 8 % 64))); break;
                case 6: data.InsertRange(pos, Enumerable.Range(0, 1 + (int)(tape[t] / 8 % 16)).Select(i => (byte)(arg >> (i % 4 * 8)))); break;
                case 7 when n > 0: data.InsertRange(pos, data.GetRange(pos, Math.Min(n - pos, 1 + (int)(tape[t] / 8 % 256)))); break;
            }
        }
        return [.. data];
    }

    private static void Overwrite(List<byte> data, int pos, ulong value, int bytes)
    {
        for (int i = 0; i < bytes; i++) data[pos + i] = (byte)(value >> (8 * i));
    }
}
