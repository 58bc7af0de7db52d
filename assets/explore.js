/* MIScope Explore page: clientside scrubbing, play, click-to-jump, keyboard, URL state.
 * Each panel's frames (built by services/figures.py) hold, per checkpoint, a list of
 * [path, value] assignments applied as a dash_clientside.Patch: no server round trip. */
(function () {
  const state = {index: null, max: 0, epochs: []};
  window.miscopeExplore = state;

  function opsAt(frames, index) {
    if (!frames || !frames.patches || !frames.index.length) { return null; }
    const i = Math.min(Math.max(index, 0), frames.index.length - 1);
    return frames.patches[frames.index[i]];
  }

  function hasFigure(figure) {
    return Boolean(figure && figure.data && figure.data.length && figure.layout);
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
      scrub: function (index, framesList, epochs, figures) {
        state.index = index; state.epochs = epochs || []; state.max = state.epochs.length - 1;
        state.changedAt = performance.now();
        const patches = framesList.map(function (frames, i) {
          const ops = opsAt(frames, index);
          // a Patch needs the full figure underneath: skip panels still being drawn
          if (!ops || !ops.length || !hasFigure(figures && figures[i])) {
            return window.dash_clientside.no_update;
          }
          const patch = new window.dash_clientside.Patch();
          ops.forEach(function ([path, value]) { patch.assign(path, value); });
          return patch.build();
        });
        const epoch = state.epochs[index];
        return [patches, epoch === undefined ? "" : "epoch " + epoch];
      },
      framesLoaded: function (frames, index, figure) {
        state.loaded = (state.loaded || 0) + (frames ? 1 : 0);
        // bring the panel to the slider's epoch (it may have moved while frames loaded) and
        // to the frames' fixed axis ranges
        const ops = opsAt(frames, index);
        if (!ops || !ops.length || !hasFigure(figure)) { return window.dash_clientside.no_update; }
        const patch = new window.dash_clientside.Patch();
        ops.forEach(function ([path, value]) { patch.assign(path, value); });
        return patch.build();
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
        const frames = framesList.find(function (f, i) { return i === id.index; }) ||
          framesList[id.index];
        if (!frames || frames.kind === "per_epoch") { return window.dash_clientside.no_update; }
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
