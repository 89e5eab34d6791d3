#!/usr/bin/env bash
# Renders an HTML report with headless Chromium to a PNG, to look at a report's layout without a desktop.
# Usage: tools/screenshot_report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]   (defaults: REPORT.png, 1280x2000)
# With no REPORT, writes the test suite's sample report (20 image rows) to /tmp/seglab-sample.html first.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
report="${1:-}"
if [[ -z "$report" ]]; then
  report=/tmp/seglab-sample.html
  SEGLAB_REPORT_SAMPLE="$report" dotnet test "$repo/tests/SegLab.Tests" -c Release --nologo -v quiet \
    --filter "FullyQualifiedName~SegLab.Tests.Reports.SampleReportTests" >/dev/null
fi
[[ -f "$report" ]] || { echo "screenshot_report: no such file: $report" >&2; exit 1; }
out="${2:-${report%.html}.png}"
size="${3:-1280x2000}"

browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$browser" ]]; then
  echo "screenshot_report: installing chromium" >&2
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  browser="$(command -v chromium)"
fi

abs="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
"$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars --screenshot="$out" \
  --window-size="${size/x/,}" "file://$abs" 2>/dev/null
echo "$out"
