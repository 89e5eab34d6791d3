// Permutohedral lattice (Adams, Baek and Davis, Eurographics 2010), the filter dense CRFs use for Gaussian message
// passing in d feature dimensions (Krähenbühl and Koltun 2011): each point f is scaled by
// sqrt(2/3) (d + 1) / sqrt((i + 1)(i + 2)) per axis, lifted onto the hyperplane sum = 0 of R^{d+1}, and splatted with
// its barycentric weights onto the d + 1 vertices of its enclosing simplex (only vertices that occur are stored, in a
// hash table); the vertex values are blurred with [1/2, 1, 1/2] along each of the d + 1 lattice directions and sliced
// back with the same weights (times 1 / (1 + 2^-d)). The result approximates sum_j exp(-|f_i - f_j|^2 / 2) v_j,
// self included, in O(N (d + 1) L) per filtering of L values instead of O(N^2 L).
namespace SegLab.Weak;

/// <summary>A permutohedral lattice built over N points of d features, filtering label-major values [L][N].</summary>
internal sealed class PermutohedralLattice
{
    private readonly int _n, _d;
    private readonly int[] _offset;      // [N][d + 1] vertex index + 1 (0 is an always-zero slot)
    private readonly float[] _weight;    // [N][d + 1] barycentric weights
    private readonly int[] _neighbours;  // [d + 1][M][2] vertex index + 1 of the two neighbours along each direction

    /// <summary>Number of lattice vertices in use.</summary>
    public int Vertices { get; }

    /// <summary>Builds the lattice over <paramref name="features"/> [N][d] (point-major).</summary>
    public PermutohedralLattice(float[] features, int n, int d)
    {
        _n = n;
        _d = d;
        _offset = new int[n * (d + 1)];
        _weight = new float[n * (d + 1)];
        var table = new KeyTable(d, Math.Max(16, n * (d + 1) / 4));
        var scale = new double[d];
        double invStd = Math.Sqrt(2.0 / 3.0) * (d + 1);
        for (int i = 0; i < d; i++) scale[i] = invStd / Math.Sqrt((i + 1.0) * (i + 2.0));
        var elevated = new double[d + 1];
        var rem0 = new int[d + 1];
        var rank = new int[d + 1];
        var bary = new double[d + 2];
        var key = new int[d];
        for (int p = 0; p < n; p++)
        {
            // lift onto the hyperplane: elevated = E (f .* scale)
            double sm = 0;
            for (int j = d; j > 0; j--)
            {
                double cf = features[p * d + j - 1] * scale[j - 1];
                elevated[j] = sm - j * cf;
                sm += cf;
            }
            elevated[0] = sm;
            // nearest remainder-0 point, then the rank (sort order) of the differences
            int sum = 0;
            for (int i = 0; i <= d; i++)
            {
                int rd = (int)Math.Round(elevated[i] / (d + 1), MidpointRounding.AwayFromZero);
                rem0[i] = rd * (d + 1);
                sum += rd;
            }
            Array.Clear(rank);
            for (int i = 0; i < d; i++)
            {
                double di = elevated[i] - rem0[i];
                for (int j = i + 1; j <= d; j++)
                    if (di < elevated[j] - rem0[j]) rank[i]++;
                    else rank[j]++;
            }
            // bring the point back onto the plane where the rounding left sum != 0
            for (int i = 0; i <= d; i++)
            {
                rank[i] += sum;
                if (rank[i] < 0) { rank[i] += d + 1; rem0[i] += d + 1; }
                else if (rank[i] > d) { rank[i] -= d + 1; rem0[i] -= d + 1; }
            }
            Array.Clear(bary);
            for (int i = 0; i <= d; i++)
            {
                double v = (elevated[i] - rem0[i]) / (d + 1);
                bary[d - rank[i]] += v;
                bary[d - rank[i] + 1] -= v;
            }
            bary[0] += 1.0 + bary[d + 1];
            // vertex r of the simplex: rem0 + the canonical simplex's r-th vertex, permuted by rank
            for (int r = 0; r <= d; r++)
            {
                for (int i = 0; i < d; i++) key[i] = rem0[i] + (rank[i] <= d - r ? r : r - (d + 1));
                _offset[p * (d + 1) + r] = table.FindOrAdd(key) + 1;
                _weight[p * (d + 1) + r] = (float)bary[r];
            }
        }
        Vertices = table.Count;
        _neighbours = new int[(d + 1) * Vertices * 2];
        var n1 = new int[d];
        var n2 = new int[d];
        for (int j = 0; j <= d; j++)
            for (int v = 0; v < Vertices; v++)
            {
                var k = table.Key(v);
                for (int i = 0; i < d; i++) { n1[i] = k[i] - 1; n2[i] = k[i] + 1; }
                if (j < d) { n1[j] = k[j] + d; n2[j] = k[j] - d; }
                _neighbours[(j * Vertices + v) * 2] = table.Find(n1) + 1;
                _neighbours[(j * Vertices + v) * 2 + 1] = table.Find(n2) + 1;
            }
    }

    /// <summary>Bytes held by the lattice (splat tables and neighbour lists).</summary>
    public long Bytes => 4L * (_offset.Length + _weight.Length + _neighbours.Length);

    /// <summary>
    /// Filters labels [l0, l1) of label-major <paramref name="input"/> [L][N] into <paramref name="output"/> (same
    /// layout); <paramref name="buffer"/> and <paramref name="scratch"/> hold (Vertices + 1) * (l1 - l0) floats,
    /// <paramref name="pixels"/> N * (l1 - l0) (the labels transposed to point-major, so the inner loops are contiguous).
    /// </summary>
    public void Filter(float[] input, float[] output, int l0, int l1, float[] buffer, float[] scratch, float[] pixels)
    {
        int n = _n, d1 = _d + 1, m = Vertices, ls = l1 - l0;
        var values = buffer.AsSpan(0, (m + 1) * ls);
        var next = scratch.AsSpan(0, (m + 1) * ls);
        var px = pixels.AsSpan(0, n * ls);
        values.Clear();
        next.Clear();
        for (int l = 0; l < ls; l++)
        {
            var plane = input.AsSpan((l0 + l) * n, n);
            for (int p = 0; p < n; p++) px[p * ls + l] = plane[p];
        }
        for (int p = 0; p < n; p++)
        {
            var src = px.Slice(p * ls, ls);
            for (int r = 0; r < d1; r++)
            {
                var dst = values.Slice(_offset[p * d1 + r] * ls, ls);
                float w = _weight[p * d1 + r];
                for (int l = 0; l < ls; l++) dst[l] += w * src[l];
            }
        }
        for (int j = 0; j < d1; j++)
        {
            for (int v = 0; v < m; v++)
            {
                int a = _neighbours[(j * m + v) * 2] * ls, b = _neighbours[(j * m + v) * 2 + 1] * ls, c = (v + 1) * ls;
                for (int l = 0; l < ls; l++) next[c + l] = values[c + l] + 0.5f * (values[a + l] + values[b + l]);
            }
            var t = values;
            values = next;
            next = t;
        }
        float alpha = 1f / (1f + MathF.Pow(2, -_d));
        for (int p = 0; p < n; p++)
        {
            var dst = px.Slice(p * ls, ls);
            dst.Clear();
            for (int r = 0; r < d1; r++)
            {
                var src = values.Slice(_offset[p * d1 + r] * ls, ls);
                float w = _weight[p * d1 + r] * alpha;
                for (int l = 0; l < ls; l++) dst[l] += w * src[l];
            }
        }
        for (int l = 0; l < ls; l++)
        {
            var plane = output.AsSpan((l0 + l) * n, n);
            for (int p = 0; p < n; p++) plane[p] = px[p * ls + l];
        }
    }

    // Open-addressing hash table of integer keys of length d.
    private sealed class KeyTable
    {
        private readonly int _d;
        private int[] _slots;     // vertex index, or -1
        private int[] _keys;      // [capacity][d]
        private int _mask;

        public KeyTable(int d, int expected)
        {
            _d = d;
            int cap = 1;
            while (cap < expected * 2) cap <<= 1;
            _slots = new int[cap];
            Array.Fill(_slots, -1);
            _keys = new int[expected * d];
            _mask = cap - 1;
        }

        public int Count { get; private set; }

        public ReadOnlySpan<int> Key(int v) => _keys.AsSpan(v * _d, _d);

        public int Find(int[] key)
        {
            for (int s = (int)(Hash(key) & (uint)_mask); ; s = (s + 1) & _mask)
            {
                int v = _slots[s];
                if (v < 0) return -1;
                if (Key(v).SequenceEqual(key)) return v;
            }
        }

        public int FindOrAdd(int[] key)
        {
            if (2 * (Count + 1) > _slots.Length) Grow();
            for (int s = (int)(Hash(key) & (uint)_mask); ; s = (s + 1) & _mask)
            {
                int v = _slots[s];
                if (v < 0)
                {
                    if ((Count + 1) * _d > _keys.Length) Array.Resize(ref _keys, _keys.Length * 2 + _d);
                    key.CopyTo(_keys, Count * _d);
                    _slots[s] = Count;
                    return Count++;
                }
                if (Key(v).SequenceEqual(key)) return v;
            }
        }

        private void Grow()
        {
            _slots = new int[_slots.Length * 2];
            Array.Fill(_slots, -1);
            _mask = _slots.Length - 1;
            for (int v = 0; v < Count; v++)
                for (int s = (int)(Hash(_keys.AsSpan(v * _d, _d)) & (uint)_mask); ; s = (s + 1) & _mask)
                    if (_slots[s] < 0) { _slots[s] = v; break; }
        }

        private static uint Hash(ReadOnlySpan<int> key)
        {
            uint h = 2166136261;
            foreach (var k in key) h = (h ^ (uint)k) * 16777619;
            return h ^ (h >> 15);
        }
    }
}
