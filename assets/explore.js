/* MIScope Explore page: clientside scrubbing, play, click-to-jump, keyboard, URL state.
 * Each panel's frames (built by services/figures.py, fetched from /explore-frames) hold, per
 * checkpoint, a list of [path, value] assignments. Scrubbing applies them straight to each
 * plot: one Plotly.update per per-epoch panel (only what changes; fixed axes are never relaid
 * out), and an SVG overlay for across-epochs cursors. Going through the Graph's figure prop
 * instead re-diffs and redraws the whole figure of every panel on every step. */
(function () {
  const state = {index: null, max: 0, epochs: []};
  window.miscopeExplore = state;

  // A panel's frames come from /explore-frames (stored bytes, one build per variant state),
  // fetched once per URL; the URL changes when the variant's files change.
  const framesByUrl = new Map();
  const FRAMES_KEPT = 24;

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
    applyOps(gd, frames.patches[frame]);
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

  // One Plotly.update per panel: every changed trace attribute (a trace that keeps one gets its
  // current value) and layout key at once, so each panel redraws once per step.
  function applyOps(gd, ops) {
    const traces = {}; const layout = {}; let data = null;
    ops.forEach(function ([path, value]) {
      if (path[0] === "data" && path.length === 1) { data = value; }
      else if (path[0] === "data") {
        (traces[path[1]] = traces[path[1]] || {})[attrString(path.slice(2))] = [path.slice(2), value];
      } else if (path[0] === "layout") { layout[attrString(path.slice(1))] = value; }
    });
    const Plotly = window.Plotly;
    if (data !== null) { Plotly.react(gd, data, Object.assign({}, gd.layout)); }
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
      Plotly.update(gd, update, layout, indices.length ? indices : undefined);
    }
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
        plots.filter(function (gd) { return !gd.__miscopeFrames.overlay; }).forEach(function (gd) {
          const started = performance.now();
          sync(gd);
          state.panelMs[gd.__miscopeFrames.view] = performance.now() - started;
        });
        state.appliedAt = performance.now();
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
        const url = new URL(window.location.href);
        url.searchParams.set("variant", variant);
        url.searchParams.set("views", formatViews(specs));
        if (epochs && epochs[index] !== undefined) { url.searchParams.set("epoch", epochs[index]); }
        window.history.replaceState(window.history.state, "", url.toString());
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
