// The report's one stylesheet, inlined into every report: a light, readable layout that also prints well (no
// backgrounds lost on paper, tables and image rows kept whole across pages). It holds no '<', '>' or '&', so that
// the XML serialiser leaves it untouched and an HTML parser reads it as written.
namespace SegLab.Reports;

/// <summary>The inline CSS of every report.</summary>
internal static class ReportStyle
{
    /// <summary>The stylesheet.</summary>
    public const string Css = """
:root { --fg: #1d2330; --muted: #5b6472; --line: #d8dde5; --soft: #f4f6f9; --accent: #0b5cad; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #ffffff; color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 40px; }
header { border-bottom: 2px solid var(--line); margin-bottom: 18px; padding-bottom: 10px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 22px 0 8px; }
h4, h5, h6 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 8px 0; white-space: pre-line; }
.subtitle { color: var(--muted); font-size: 16px; margin: 0 0 10px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px;
  font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all; }
dl.meta { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 2px 24px; margin: 8px 0 4px; font-size: 14px; }
dl.meta div { display: flex; gap: 8px; min-width: 0; }
dl.meta div.wide { grid-column: 1 / -1; }
dl.meta dt { color: var(--muted); flex: 0 0 auto; }
dl.meta dt::after { content: ":"; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
nav.toc { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 6px 14px; margin: 12px 0; font-size: 14px; }
nav.toc ol { margin: 4px 0; padding-left: 20px; columns: 2; }
a { color: var(--accent); text-decoration: none; }
.callout { border: 1px solid; border-left-width: 5px; border-radius: 4px; padding: 6px 12px; margin: 10px 0; break-inside: avoid; }
.callout p { margin: 4px 0; }
.callout ul { margin: 4px 0 6px; padding-left: 22px; font-size: 13px; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.callout.note { background: #eef5fc; border-color: #8fb8e0; }
.callout.warning { background: #fff5e5; border-color: #e0a040; }
.callout .more { font-style: italic; font-family: inherit; }
figure { margin: 14px 0; break-inside: avoid; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
table.data { border-collapse: collapse; font-size: 14px; margin: 10px 0; break-inside: auto; }
table.data caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 6px; }
table.data th, table.data td { border: 1px solid var(--line); padding: 3px 9px; }
table.data th { background: var(--soft); text-align: left; font-weight: 600; }
table.data th.num { text-align: right; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.data tr.summary td { font-weight: 700; border-top: 2px solid #9aa3b0; }
table.data td.missing { color: var(--muted); }
table.data tr { break-inside: avoid; }
svg.chart { display: block; max-width: 100%; height: auto; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.imagerow { margin: 16px 0; break-inside: avoid; }
.imagerow h4.rowtitle { margin: 0 0 6px; font-size: 14px; font-weight: 600; }
.imagerow .cells { display: flex; flex-wrap: nowrap; gap: 10px; align-items: flex-start; }
.imagerow figure { margin: 0; flex: 0 1 auto; min-width: 0; }
.imagerow img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
.imagerow img.pixelated { image-rendering: pixelated; }
.imagerow figcaption { text-align: center; }
.imagerow figure.zoom a.open { display: block; cursor: zoom-in; }
.imagerow figure.zoom a.close { display: none; }
.imagerow figure.zoom:target img { position: fixed; left: 2vw; top: 3vh; width: 96vw; height: 88vh; max-width: none; object-fit: contain;
  z-index: 20; border: 0; background: #14181f; box-shadow: 0 0 0 100vmax #14181ff4; }
.imagerow figure.zoom:target a.close { display: block; position: fixed; inset: 0; z-index: 21; cursor: zoom-out; }
.imagerow figure.zoom:target a.close span { position: fixed; right: 2vw; top: 0.5vh; color: #ffffff; font-size: 14px; }
.imagerow figure.zoom a.close span.zoomtitle { left: 2vw; right: auto; }
.imagerow figure.zoom:target figcaption { position: fixed; left: 0; right: 0; bottom: 3vh; z-index: 22; color: #ffffff; font-size: 15px; }
code.cmd { font: 13px/1.5 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: normal; }
code.cmd span.arg { white-space: pre; }
dl.meta dd code.cmd span.arg { overflow-wrap: normal; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 8px 0; font-size: 13px; break-inside: avoid; }
.legend span.item { display: inline-flex; align-items: center; gap: 5px; }
.legend span.swatch { display: inline-block; width: 14px; height: 14px; border: 1px solid #7a8290; }
.sidebyside { display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: flex-start; }
.sidebyside .cell { min-width: 0; max-width: 100%; }
.headline { display: flex; flex-wrap: wrap; gap: 12px; margin: 14px 0; }
.headline .tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 16px; min-width: 150px; background: var(--soft); break-inside: avoid; }
.headline .value { font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; line-height: 1.2; }
.headline .label { font-size: 13px; color: var(--muted); }
.headline .note { font-size: 12px; color: var(--muted); }
footer { margin-top: 36px; padding-top: 8px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
@media print {
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  h2, h3 { break-after: avoid; }
}
""";
}
