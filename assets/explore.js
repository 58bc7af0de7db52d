/* MIScope Explore page: clientside scrubbing, play, click-to-jump, keyboard, URL state.
 * Each panel's frames (built by services/figures.py, fetched from /explore-frames) hold, per
 * checkpoint, a list of [path, value] assignments. Scrubbing applies them straight to each
 * plot, redrawing only what changed: a heatmap whose colours alone change gets a new image
 * (the colours computed here, as Plotly's fast heatmap method does), bars and lines whose x/y
 * alone change move through Plotly.animate without a full replot, anything else takes one
 * Plotly.update; across-epochs cursors are an SVG overlay. A full Plotly replot per step
 * (axes, colour bars, every layer) cost ~60 ms per panel, measured in benchmarks/bench_scrub.py.
 * Going through the Graph's figure prop instead re-diffs and redraws the whole figure. */
(function () {
  const state = {index: null, max: 0, epochs: []};
  window.miscopeExplore = state;

  // A panel's frames come from /explore-frames (stored bytes, one build per variant state),
  // fetched once per URL; the URL changes when the variant's files change.
  const framesByUrl = new Map();
  const FRAMES_KEPT = 24;
  const URL_DELAY_MS = 200;

  function loadFrames(stored, then) {
    const known = framesByUrl.get(stored.url);
    if (known) { then(known); return; }
    fetch(stored.url, {credentials: "same-origin"}).then(function (reply) {
      return reply.ok ? reply.json() : null;
    }).then(function (frames) {
      if (!frames || !frames.patches) { return; }
      frames.kind = stored.kind; frames.view = stored.view;
      framesByUrl.set(stored.url, frames);
      if (framesByUrl.size > FRAMES_KEPT) { framesByUrl.delete(framesByUrl.keys().next().value); }
      then(frames);
    }).catch(function () { /* the panel keeps its server-drawn epoch */ });
  }

  function frameAt(frames, index) {
    if (!frames || !frames.patches || !frames.index || !frames.index.length) { return null; }
    const i = Math.min(Math.max(index, 0), frames.index.length - 1);
    return frames.index[i];
  }

  function plotOf(id) {
    if (!id) { return null; }
    const holder = document.getElementById(JSON.stringify({index: id.index, type: "panel-graph"}));
    return holder && (holder.classList.contains("js-plotly-plot") ? holder :
      holder.querySelector(".js-plotly-plot"));
  }

  function whenPlotted(id, then, tries) {
    const gd = plotOf(id);
    if (gd && gd._fullLayout && gd.on) { then(gd); return; }
    if ((tries || 0) < 600) {
      requestAnimationFrame(function () { whenPlotted(id, then, (tries || 0) + 1); });
    }
  }

  // Attach a panel's frames to its plot; every redraw (a new figure from the server, a resize)
  // re-checks that the plot shows the slider's epoch.
  function attach(gd, frames) {
    gd.__miscopeFrames = frames;
    if (!gd.__miscopeHooked) {
      gd.__miscopeHooked = true;
      gd.on("plotly_afterplot", function () { sync(gd); });
      gd.on("plotly_relayout", function () { drawCursor(gd); });  // zoom and pan
    }
    sync(gd);
  }

  // Bring one plot to the slider's epoch: move an across-epochs cursor (an overlay: nothing
  // in Plotly redraws), or apply a per-epoch frame unless the plot already shows that epoch.
  function sync(gd) {
    const frames = gd.__miscopeFrames;
    if (!frames || !gd._fullLayout || state.index === null) { return; }
    const frame = frameAt(frames, state.index);
    if (frame === null) { return; }
    if (frames.overlay) { moveCursor(gd, frames, frame); return; }
    const epoch = frames.frame_epochs[frame];
    if (gd.layout.meta && gd.layout.meta.epoch === epoch) { return; }
    gd.layout.meta = Object.assign({}, gd.layout.meta, {epoch: epoch});
    return applyOps(gd, frames.patches[frame]);
  }

  function attrString(path) {
    return path.reduce(function (text, key) {
      return typeof key === "number" ? text + "[" + key + "]" : (text ? text + "." : "") + key;
    }, "");
  }

  function valueAt(object, path) {
    return path.reduce(function (value, key) { return value === undefined || value === null ?
      undefined : value[key]; }, object);
  }

  const SVG = "http://www.w3.org/2000/svg";

  function axisOf(layout, ref) {
    const id = (ref || "x").split(" ")[0];
    return layout[id.charAt(0) + "axis" + id.slice(1)];
  }

  function toPixel(axis, value) {
    return axis._offset + (axis.c2p ? axis.c2p(value) : axis.l2p(value));
  }

  function overlayOf(gd) {
    if (gd.__miscopeOverlay && gd.__miscopeOverlay.isConnected) { return gd.__miscopeOverlay; }
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "epoch-overlay");
    svg.style.cssText = "position:absolute;left:0;top:0;width:100%;height:100%;" +
      "pointer-events:none;overflow:visible;z-index:5";
    if (getComputedStyle(gd).position === "static") { gd.style.position = "relative"; }
    gd.appendChild(svg);
    gd.__miscopeOverlay = svg;
    return svg;
  }

  // An across-epochs panel's cursor (its vertical line, its trajectory marker) is an SVG
  // overlay positioned from the plot's axes; the figure keeps its own cursor hidden.
  function moveCursor(gd, frames, frame) {
    gd.__miscopeCursor = {frames: frames, frame: frame};
    frames.patches[frame].forEach(function ([path, value]) {
      // keep the figure's own record of the cursor true (it is drawn hidden)
      if (path[0] === "layout" && path[1] === "shapes" && gd.layout.shapes && gd.layout.shapes[path[2]]) {
        gd.layout.shapes[path[2]][path[3]] = value;
      }
    });
    drawCursor(gd);
  }

  function drawCursor(gd) {
    const cursor = gd.__miscopeCursor;
    const layout = gd._fullLayout;
    if (!cursor || !layout) { return; }
    const svg = overlayOf(gd);
    const ops = cursor.frames.patches[cursor.frame];
    const overlay = cursor.frames.overlay;
    const parts = [];
    overlay.shapes.forEach(function (i) {
      const shape = (gd.layout.shapes || [])[i];
      const op = ops.find(function ([path]) { return path[1] === "shapes" && path[2] === i && path[3] === "x0"; });
      const xaxis = shape && axisOf(layout, shape.xref);
      if (!op || !xaxis) { return; }
      const yref = shape.yref || "y";
      const yaxis = yref === "paper" ? null : axisOf(layout, yref);
      const top = yaxis ? yaxis._offset : layout._size.t;
      const bottom = top + (yaxis ? yaxis._length : layout._size.h);
      const x = toPixel(xaxis, op[1]);
      const line = shape.line || {};
      parts.push('<line x1="' + x + '" x2="' + x + '" y1="' + top + '" y2="' + bottom +
        '" stroke="' + (line.color || "#d62728") + '" stroke-width="' + (line.width || 1.5) +
        '"' + (line.dash && line.dash !== "solid" ? ' stroke-dasharray="6,4"' : "") + "/>");
    });
    if (overlay.point !== null && overlay.point !== undefined) {
      const trace = gd.data[overlay.point] || {};
      const at = {};
      ops.forEach(function ([path, value]) {
        if (path[0] === "data" && path[1] === overlay.point) { at[path[2]] = value; }
      });
      const xaxis = axisOf(layout, trace.xaxis || "x");
      const yaxis = axisOf(layout, trace.yaxis || "y");
      if (xaxis && yaxis && at.x && at.y) {
        const marker = trace.marker || {};
        const color = (marker.line && marker.line.color) || marker.color || "#d62728";
        parts.push('<circle cx="' + toPixel(xaxis, at.x[0]) + '" cy="' + toPixel(yaxis, at.y[0]) +
          '" r="' + ((marker.size || 14) / 2) + '" fill="none" stroke="' + color +
          '" stroke-width="3"/>');
      }
    }
    svg.setAttribute("data-epoch", cursor.frames.frame_epochs[cursor.frame]);
    svg.innerHTML = parts.join("");
  }

  // Apply one frame's assignments; a promise that settles once the plot shows them.
  function applyOps(gd, ops) {
    const traces = {}; const layout = {}; let data = null;
    ops.forEach(function ([path, value]) {
      if (path[0] === "data" && path.length === 1) { data = value; }
      else if (path[0] === "data") {
        (traces[path[1]] = traces[path[1]] || {})[attrString(path.slice(2))] = [path.slice(2), value];
      } else if (path[0] === "layout") { layout[attrString(path.slice(1))] = value; }
    });
    const Plotly = window.Plotly;
    if (data !== null) { return Plotly.react(gd, data, Object.assign({}, gd.layout)); }
    const fast = Object.keys(layout).length ? null : fastPlan(gd, traces);
    const counts = state.redraws || (state.redraws = {image: 0, animate: 0, update: 0});
    if (fast) {
      counts.image += fast.heatmaps.length; counts.animate += fast.moves.length;
      fast.heatmaps.forEach(function (i) { redrawHeatmap(gd, i, traces[i]); });
      if (!fast.moves.length) { return Promise.resolve(); }
      return Plotly.animate(gd, {
        data: fast.moves.map(function (i) { return plainValues(traces[i]); }),
        traces: fast.moves,
      }, {transition: {duration: 0}, frame: {duration: 0, redraw: false}, mode: "immediate"});
    }
    // One Plotly.update: every changed trace attribute (a trace that keeps one gets its current
    // value) and layout key at once, so the panel redraws once per step.
    const indices = Object.keys(traces).map(Number);
    const keys = {};
    indices.forEach(function (i) {
      Object.entries(traces[i]).forEach(function ([key, [path]]) { keys[key] = path; });
    });
    const update = {};
    Object.entries(keys).forEach(function ([key, path]) {
      update[key] = indices.map(function (i) {
        return key in traces[i] ? traces[i][key][1] : valueAt(gd.data[i], path);
      });
    });
    if (indices.length || Object.keys(layout).length) {
      counts.update += 1;
      return Plotly.update(gd, update, layout, indices.length ? indices : undefined);
    }
    return Promise.resolve();
  }

  function plainValues(changes) {
    const values = {};
    Object.entries(changes).forEach(function ([key, [, value]]) { values[key] = value; });
    return values;
  }

  // Heatmap attributes that only hover reads, and what bars and lines may move without a
  // replot (their axes are fixed over the frames, so nothing else on the plot changes).
  const HOVER_ONLY = new Set(["customdata", "text", "hovertext"]);
  const MOVABLE = {bar: new Set(["x", "y"]), scatter: new Set(["x", "y"])};

  // Which changed traces can take a fast path; null when any cannot (then one Plotly.update
  // redraws the panel, so a frame is never applied half one way and half the other).
  function fastPlan(gd, traces) {
    const plan = {heatmaps: [], moves: []};
    const layout = gd._fullLayout;
    for (const [key, changes] of Object.entries(traces)) {
      const i = Number(key);
      const full = (gd._fullData || [])[i];
      const attrs = Object.keys(changes);
      if (!full || !layout) { return null; }
      if (full.type === "heatmap" && "z" in changes && heatmapImage(gd, i) &&
          attrs.every(function (a) { return a === "z" || HOVER_ONLY.has(a); }) &&
          full.zauto === false && !full.coloraxis && !full.transpose && !full.zsmooth) {
        plan.heatmaps.push(i);
      } else if (MOVABLE[full.type] && attrs.every(function (a) {
        return MOVABLE[full.type].has(a) && fixedAxis(layout, a === "x" ? full.xaxis : full.yaxis);
      })) {
        plan.moves.push(i);
      } else { return null; }
    }
    return plan;
  }

  function fixedAxis(layout, ref) {
    const axis = axisOf(layout, ref);
    return Boolean(axis) && axis.autorange === false && axis.type !== "category";
  }

  // The <image> Plotly drew for trace i with its fast (one pixel per cell) method.
  function heatmapImage(gd, i) {
    const groups = gd.querySelectorAll(".hm");
    for (const group of groups) {
      const cd = group.__data__;
      const trace = cd && cd[0] && cd[0].trace;
      const image = group.querySelector("image");
      if (trace && trace.index === i && image && /pixelated/.test(image.getAttribute("style") || "")) {
        return image;
      }
    }
    return null;
  }

  const TYPED = {f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array,
    i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array};

  // A 2-D array from a frame value: nested lists, or Plotly's base64 typed-array encoding.
  function rowsOf(value) {
    if (Array.isArray(value)) { return value; }
    if (!value || !value.bdata || !TYPED[value.dtype]) { return null; }
    if (value.rows) { return value.rows; }  // decoded when this frame was last shown
    const bytes = Uint8Array.from(atob(value.bdata), function (c) { return c.charCodeAt(0); });
    const flat = new TYPED[value.dtype](bytes.buffer);
    const shape = String(value.shape || flat.length).split(",").map(Number);
    const width = shape.length > 1 ? shape[1] : flat.length;
    const rows = [];
    for (let start = 0; start < flat.length; start += width) {
      rows.push(flat.subarray(start, start + width));
    }
    Object.defineProperty(value, "rows", {value: rows});  // not enumerable: not sent to Plotly
    return rows;
  }

  // [r, g, b, a] (0-255, 0-1) of a CSS colour, read back from a canvas context.
  const colourContext = document.createElement("canvas").getContext("2d");
  function rgba(colour) {
    colourContext.clearRect(0, 0, 1, 1);
    colourContext.fillStyle = colour;
    colourContext.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = colourContext.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  }

  // Plotly's colour scale mapping: linear in RGBA between the scale's stops over zmin..zmax.
  function colourScale(full) {
    const stops = full.colorscale.map(function ([at, colour]) { return [at, rgba(colour)]; });
    const [low, high] = [full.zmin, full.zmax];
    return function (value) {
      const t = high === low ? 0 : Math.min(1, Math.max(0, (value - low) / (high - low)));
      let k = 1;
      while (k < stops.length - 1 && stops[k][0] < t) { k += 1; }
      const [a, b] = [stops[k - 1], stops[k]];
      const f = b[0] === a[0] ? 0 : (t - a[0]) / (b[0] - a[0]);
      return [0, 1, 2, 3].map(function (c) { return a[1][c] + f * (b[1][c] - a[1][c]); });
    };
  }

  // Redraw one heatmap's image from new z (and keep what hover reads true), without a replot.
  function redrawHeatmap(gd, i, changes) {
    const image = heatmapImage(gd, i);
    const full = gd._fullData[i];
    const z = rowsOf(changes.z[1]);
    const cd0 = gd.calcdata[i][0];
    if (!image || !z || !z.length || !cd0) { return; }
    const height = z.length; const width = z[0].length;
    const xa = axisOf(gd._fullLayout, full.xaxis); const ya = axisOf(gd._fullLayout, full.yaxis);
    const flipX = xa.c2p(cd0.x[0]) > xa.c2p(cd0.x[cd0.x.length - 1]);
    const firstRowOnTop = ya.c2p(cd0.y[0]) < ya.c2p(cd0.y[cd0.y.length - 1]);
    const colour = full._miscopeColour || (full._miscopeColour = colourScale(full));
    const canvas = document.createElement("canvas");
    canvas.width = width; canvas.height = height;
    const context = canvas.getContext("2d");
    const pixels = context.createImageData(width, height);
    for (let row = 0; row < height; row++) {
      const line = z[row];
      const top = firstRowOnTop ? row : height - 1 - row;
      for (let col = 0; col < width; col++) {
        const value = line[col];
        const at = (top * width + (flipX ? width - 1 - col : col)) * 4;
        if (value === null || value === undefined || Number.isNaN(value)) { continue; }
        const [r, g, b, a] = colour(value);
        pixels.data[at] = r; pixels.data[at + 1] = g; pixels.data[at + 2] = b;
        pixels.data[at + 3] = Math.round(a * 255);
      }
    }
    context.putImageData(pixels, 0, 0);
    image.setAttribute("href", canvas.toDataURL("image/png"));
    if (image.hasAttribute("xlink:href")) {
      image.setAttributeNS("http://www.w3.org/1999/xlink", "xlink:href", image.getAttribute("href"));
    }
    cd0.z = z;
    Object.entries(changes).forEach(function ([key, [, value]]) {
      gd.data[i][key] = value; full[key] = key === "z" ? z : value;
      if (key !== "z" && key in cd0) { cd0[key] = value; }
    });
  }

  function formatViews(specs) {
    return specs.filter(Boolean).map(function (spec) {
      const parts = [spec.view];
      Object.entries(spec.params || {}).forEach(function ([key, value]) {
        if (value === null || value === undefined) { return; }
        parts.push(key + "=" + (typeof value === "string" ? value : JSON.stringify(value)));
      });
      return parts.join(":");
    }).join(",");
  }

  function nearestIndex(epochs, epoch) {
    let best = 0;
    epochs.forEach(function (e, i) {
      if (Math.abs(e - epoch) < Math.abs(epochs[best] - epoch)) { best = i; }
    });
    return best;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    miscope: {
      scrub: function (index, storedFrames, epochs) {
        state.index = index; state.epochs = epochs || []; state.max = state.epochs.length - 1;
        state.changedAt = performance.now();
        const ids = (window.dash_clientside.callback_context.states_list[0] || []);
        const plots = ids.map(function (entry) { return plotOf(entry.id); }).filter(function (gd) {
          return gd && gd.__miscopeFrames;
        });
        // cursors first (they read the axes), then the redraws of per-epoch panels; a panel
        // whose frames are still loading is brought to the epoch when they arrive
        plots.filter(function (gd) { return gd.__miscopeFrames.overlay; }).forEach(sync);
        state.panelMs = {};
        const redraws = plots.filter(function (gd) { return !gd.__miscopeFrames.overlay; }).map(function (gd) {
          const started = performance.now();
          const view = gd.__miscopeFrames.view;
          return Promise.resolve(sync(gd)).then(function () {
            state.panelMs[view] = performance.now() - started;
          });
        });
        // appliedAt: when every panel shows this epoch (benchmarks/bench_scrub.py reads it)
        const step = state.changedAt;
        Promise.all(redraws).then(function () {
          if (state.changedAt === step) { state.appliedAt = performance.now(); }
        });
        const epoch = state.epochs[index];
        return epoch === undefined ? "" : "epoch " + epoch;
      },
      framesLoaded: function (stored, index) {
        const trigger = window.dash_clientside.callback_context.triggered[0];
        if (!stored || !stored.url || !trigger) { return window.dash_clientside.no_update; }
        if (state.index === null) { state.index = index; }
        const id = JSON.parse(trigger.prop_id.slice(0, trigger.prop_id.lastIndexOf(".")));
        loadFrames(stored, function (frames) {
          whenPlotted(id, function (gd) {
            attach(gd, frames);
            state.loaded = (state.loaded || 0) + 1;
          });
        });
        return window.dash_clientside.no_update;
      },
      togglePlay: function (clicks, speed, disabled) {
        const trigger = window.dash_clientside.callback_context.triggered[0];
        const interval = parseInt(speed, 10) || 400;
        if (trigger && trigger.prop_id.startsWith("explore-speed")) {
          return [disabled, window.dash_clientside.no_update, interval];
        }
        return [!disabled, disabled ? "❚❚ Pause" : "▶ Play", interval];
      },
      advance: function (tick, value, max) {
        return value >= max ? 0 : value + 1;
      },
      jump: function (clicks, framesList, epochs) {
        const trigger = window.dash_clientside.callback_context.triggered[0];
        if (!trigger || !trigger.value || !trigger.value.points) {
          return window.dash_clientside.no_update;
        }
        const id = JSON.parse(trigger.prop_id.split(".")[0]);
        const stored = framesList[id.index];
        if (!stored || stored.kind === "per_epoch") { return window.dash_clientside.no_update; }
        const point = trigger.value.points[0];
        let epoch = Array.isArray(point.customdata) ? point.customdata[0] : point.customdata;
        if (typeof epoch !== "number") { epoch = point.x; }
        if (typeof epoch !== "number") { return window.dash_clientside.no_update; }
        return nearestIndex(epochs, epoch);
      },
      syncUrl: function (index, specs, epochs, variant) {
        state.index = index; state.epochs = epochs || []; state.max = state.epochs.length - 1;
        // history.replaceState costs ~5-15 ms: write the address once scrubbing pauses
        clearTimeout(state.urlTimer);
        state.urlTimer = setTimeout(function () {
          const url = new URL(window.location.href);
          url.searchParams.set("variant", variant);
          url.searchParams.set("views", formatViews(specs));
          if (epochs && epochs[index] !== undefined) { url.searchParams.set("epoch", epochs[index]); }
          window.history.replaceState(window.history.state, "", url.toString());
        }, URL_DELAY_MS);
        return "";
      },
    },
  });

  function isTyping(target) {
    const tag = (target.tagName || "").toLowerCase();
    return tag === "input" || tag === "select" || tag === "textarea" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (state.index === null || isTyping(event.target) || !document.getElementById("explore-slider")) { return; }
    if (event.target.closest && event.target.closest(".rc-slider")) { return; }  // slider handles its own keys
    const moves = {ArrowRight: state.index + 1, ArrowLeft: state.index - 1, Home: 0, End: state.max};
    if (!(event.key in moves)) { return; }
    event.preventDefault();
    const next = Math.min(Math.max(moves[event.key], 0), state.max);
    window.dash_clientside.set_props("explore-slider", {value: next});
  });

  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a.download-link");
    if (!link || state.index === null) { return; }
    const url = new URL(link.href, window.location.href);
    url.searchParams.set("epoch", state.epochs[state.index]);
    link.href = url.toString();
  }, true);
})();
