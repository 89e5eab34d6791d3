#!/usr/bin/env bash
# SegLab side by side with libtorch 2.10 (TorchSharp 0.107.0) and ONNX Runtime 1.32 (issue 22), one command:
#   bench/Peers/run.sh [--rounds 3] [--threads 1,2] [--quick] [--rows cgnet/forward,unet] [--out FILE.jsonl]
# Builds bench/Peers (Release), applies the TorchSharp workaround to the build's copy of libLibTorchSharp.so (see
# README.md), exports the peers' models once (tools/export_peers.py, into bench/Peers/models, ignored by git) and runs
# the harness with the remaining arguments. Needs the .NET SDK, g++, python3, Debian's python3-torch (1.13, only for
# the export) and ../shared (the pretrained weights).
# Environment: PEERS_MODELS (models folder), PEERS_SHARED (default ../shared beside the repository), PEERS_PYTHON.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
models="${PEERS_MODELS:-$here/models}"
shared="${PEERS_SHARED:-$repo/../shared}"
python="${PEERS_PYTHON:-/usr/bin/python3}"
bin="$repo/artifacts/bin/Peers/release"

echo "== build bench/Peers" >&2
dotnet build -c Release "$here/Peers.csproj" -nologo -v q >&2

# The workaround: TorchSharp's native glue needs GLIBCXX_3.4.32 (GCC 13); Debian 12's libstdc++ has 3.4.30. Mark the
# need weak in the build's copies (the NuGet cache stays as shipped; every build re-copies, so this runs every time)
# and preload a one-symbol shim for std::ios_base_library_init(), the only 3.4.32 symbol the library uses.
echo "== TorchSharp workaround" >&2
found=0
while IFS= read -r -d '' lib; do
  python3 "$here/weak_glibcxx.py" "$lib" GLIBCXX_3.4.31 GLIBCXX_3.4.32 >&2
  found=1
done < <(find "$bin" -name libLibTorchSharp.so -print0)
[[ $found == 1 ]] || { echo "run.sh: no libLibTorchSharp.so under $bin: did the build restore TorchSharp?" >&2; exit 1; }
shim="$here/libios_shim.so"
if [[ ! -f $shim || $here/ios_shim.cpp -nt $shim ]]; then
  g++ -O2 -shared -fPIC -o "$shim.tmp" "$here/ios_shim.cpp" && mv "$shim.tmp" "$shim"
fi

# The peers' models, once (delete the folder to re-export): SegLab's weights of the UNet, DeepLabV3 and
# deeplabv3-resnet18 first. A folder exported before a model was added lacks its last file and is exported again.
if [[ ! -f $models/deeplabv3_train.pt || ! -f $models/deeplabv3-resnet18_train.pt ]]; then
  echo "== export the peers' models into $models" >&2
  [[ -d $shared/models ]] || { echo "run.sh: $shared/models is missing (set PEERS_SHARED to the shared data folder)" >&2; exit 1; }
  rm -rf "$models.tmp" && mkdir -p "$models.tmp"
  "$bin/Peers" weights "$models.tmp/seglab-weights" >&2
  if ! "$python" "$repo/tools/export_peers.py" "$models.tmp" --shared "$shared" --seglab-weights "$models.tmp/seglab-weights" > "$models.tmp/export.log" 2>&1; then
    cat "$models.tmp/export.log" >&2; echo "run.sh: tools/export_peers.py failed" >&2; exit 1
  fi
  rm -rf "$models" && mv "$models.tmp" "$models"
fi

# SegLab finds the shared weights itself inside a repository; a copied build needs SEGLAB_SHARED.
export SEGLAB_SHARED="${SEGLAB_SHARED:-$shared}"
echo "== run (uptime: $(uptime | sed 's/.*load average/load average/'))" >&2
cd "$repo"
LD_PRELOAD="$shim${LD_PRELOAD:+:$LD_PRELOAD}" "$bin/Peers" run --models "$models" "$@"
