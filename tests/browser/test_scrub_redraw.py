"""Scrubbing's fast redraws draw exactly what a full Plotly redraw of the same frame draws."""

from __future__ import annotations

from tests.browser.test_pages import panel_state, severe_logs, wait_for

HEATMAP = "neurons.frequency_specialization"
BARS = "weights.frequency_spectrum.W_E"

# After a fast redraw: the heatmap's image pixels and the bars' outlines, then the same after
# Plotly redraws both plots from their (updated) data; returns both for comparison.
COMPARE = """
const done = arguments[arguments.length - 1];
const plots = Array.from(document.querySelectorAll('.panel-graph .js-plotly-plot'));
const heat = plots.find((g) => g.data[0].type === 'heatmap');
const bars = plots.find((g) => g.data[0].type === 'bar');
async function pixels(gd) {
  const image = gd.querySelector('.hm image');
  const picture = new Image();
  picture.src = image.getAttribute('href') || image.getAttribute('xlink:href');
  await picture.decode();
  const canvas = document.createElement('canvas');
  canvas.width = picture.width; canvas.height = picture.height;
  const context = canvas.getContext('2d');
  context.drawImage(picture, 0, 0);
  const box = ['x', 'y', 'width', 'height'].map((a) => image.getAttribute(a)).join(',');
  return {size: [picture.width, picture.height], box: box,
          data: Array.from(context.getImageData(0, 0, picture.width, picture.height).data)};
}
const outlines = (gd) =>
  Array.from(gd.querySelectorAll('.bars path')).map((p) => p.getAttribute('d'));
(async function () {
  const fast = {heat: await pixels(heat), bars: outlines(bars),
                hover: heat.calcdata[0][0].z[3][2], neuron: heat.data[0].customdata};
  await Plotly.restyle(heat, {z: [heat.data[0].z], customdata: [heat.data[0].customdata]}, [0]);
  await Plotly.redraw(bars);
  const full = {heat: await pixels(heat), bars: outlines(bars),
                hover: heat.calcdata[0][0].z[3][2]};
  let worst = 0;
  fast.heat.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - full.heat.data[i])); });
  done({worst: worst, fastSize: fast.heat.size, fullSize: full.heat.size,
        fastBox: fast.heat.box, fullBox: full.heat.box, barsEqual:
        JSON.stringify(fast.bars) === JSON.stringify(full.bars), bars: fast.bars.length,
        hover: [fast.hover, full.hover], redraws: window.miscopeExplore.redraws});
})();
"""


def test_fast_redraws_match_a_full_plotly_redraw(dash_duo, app_on):
    from miscope_core.workspace import Workspace
    from services.figures import view_catalog

    app, variant_id, root = app_on
    available = {
        v["name"] for v in view_catalog(Workspace.open(root), variant_id) if v["available"]
    }
    assert {HEATMAP, BARS} <= available
    dash_duo.start_server(app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/explore?variant={variant_id}&views={HEATMAP},{BARS}&epoch=0"
    )
    wait_for(
        lambda: dash_duo.driver.execute_script(
            "return window.miscopeExplore && window.miscopeExplore.loaded >= 2"
        ),
        message="frames of both panels",
    )
    epochs = dash_duo.driver.execute_script("return window.miscopeExplore.epochs")
    before = panel_state(dash_duo, 0, "JSON.stringify(g.calcdata[0][0].z[3])")
    dash_duo.driver.execute_script("window.dash_clientside.set_props('explore-slider', {value: 3})")
    for index in (0, 1):
        wait_for(
            lambda index=index: panel_state(dash_duo, index, "g.layout.meta.epoch") == epochs[3],
            message=f"panel {index} at epoch {epochs[3]}",
        )
    wait_for(
        lambda: dash_duo.driver.execute_script(
            "const s = window.miscopeExplore; return s.appliedAt > s.changedAt"
        ),
        message="the redraws to settle",
    )
    assert panel_state(dash_duo, 0, "JSON.stringify(g.calcdata[0][0].z[3])") != before
    dash_duo.driver.set_script_timeout(30)
    result = dash_duo.driver.execute_async_script(COMPARE)
    assert result["redraws"]["image"] >= 1 and result["redraws"]["animate"] >= 1, result["redraws"]
    assert result["redraws"]["update"] == 0, result["redraws"]
    assert result["fastSize"] == result["fullSize"]
    assert result["fastBox"] == result["fullBox"]
    assert result["worst"] <= 1, f"heatmap pixels differ by up to {result['worst']}"
    assert result["bars"] > 0 and result["barsEqual"]
    assert result["hover"][0] == result["hover"][1]
    assert severe_logs(dash_duo) == []
