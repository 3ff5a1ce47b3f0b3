// octet workbench: the graph view of a model (Inspect tab).
//
// Draws the nodes of `GET /api/models/{id}/inspect` as a layered DAG in SVG:
//   - levels: the longest path from a graph input (a node sits one level below its deepest producer);
//   - order within a level: a few barycenter sweeps (down, then up) to reduce edge crossings;
//   - x positions: each node pulled toward the mean x of its producers, overlaps pushed apart.
// Nodes are coloured by precision (int8 / fp32 / fused / folded); pan by dragging, zoom with the wheel.
//
// Usage:
//   const view = OctetGraph.create(containerElement, {
//     nodes,                 // [{name, op_type, inputs, outputs, precision, kernel, note}]
//     inputs, outputs,       // graph inputs / outputs: [{name}] (drawn as grey I/O boxes)
//     isIgnored(name),       // -> bool: node marked "ignore in quantization" (dashed red outline)
//     onSelect(node),        // a node was clicked (node object, or null for the background)
//     showConstants,         // draw constant-only nodes (default false: Constant nodes, weight
//                            // DequantizeLinear... clutter exported and quantized models)
//   });
//   view.refresh();          // re-read isIgnored after the ignore list changed
//   view.select(name, {center: true}); view.fit(); view.zoomBy(1.25); view.destroy();
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const NODE_WIDTH = 150;
  const NODE_HEIGHT = 34;
  const GAP_X = 22;
  const GAP_Y = 42;
  const SWEEPS = 4;
  const MIN_SCALE = 0.02;
  const MAX_SCALE = 4;
  const CLICK_SLOP_PX = 4;

  function svg(tag, attrs) {
    const element = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) element.setAttribute(key, value);
    return element;
  }

  function shorten(text, max) {
    return text.length <= max ? text : text.slice(0, max - 1) + "…";
  }

  // Nodes that compute only from constants (Constant nodes, the DequantizeLinear of an int8 weight,
  // folded shape arithmetic): no path from a graph input reaches them. Without graph inputs to start
  // from, only Constant nodes count.
  function constantOnlyNodes(nodes, inputs) {
    const constant = new Set(nodes.filter((node) => node.op_type === "Constant"));
    if (!inputs || inputs.length === 0) return constant;
    const live = new Set(inputs.map((input) => input.name));
    const reached = new Set();
    let changed = true;
    while (changed) {
      changed = false;
      for (const node of nodes) {
        if (reached.has(node) || !(node.inputs || []).some((tensor) => live.has(tensor))) continue;
        reached.add(node);
        for (const tensor of node.outputs || []) live.add(tensor);
        changed = true;
      }
    }
    for (const node of nodes) if (!reached.has(node)) constant.add(node);
    return constant;
  }

  // Builds the drawn items: real nodes plus I/O boxes, edges by tensor name.
  function buildGraph(options) {
    const items = [];
    const showConstants = !!options.showConstants;
    const constantOnly = showConstants ? new Set() : constantOnlyNodes(options.nodes || [], options.inputs);
    for (const node of options.nodes || []) {
      if (constantOnly.has(node)) continue;
      items.push({ kind: "node", node, name: node.name, inputs: node.inputs || [], outputs: node.outputs || [] });
    }
    for (const input of options.inputs || []) {
      items.push({ kind: "io", name: input.name, label: "input", inputs: [], outputs: [input.name] });
    }
    for (const output of options.outputs || []) {
      items.push({ kind: "io", name: output.name, label: "output", inputs: [output.name], outputs: [] });
    }
    const producer = new Map();
    items.forEach((item, index) => {
      if (item.kind === "io" && item.label === "output") return;
      for (const tensor of item.outputs) if (tensor) producer.set(tensor, index);
    });
    const edges = [];
    const seen = new Set();
    items.forEach((item, index) => {
      item.preds = [];
      item.succs = [];
      item.edges = [];
    });
    items.forEach((item, index) => {
      for (const tensor of item.inputs) {
        const from = producer.get(tensor);
        if (from === undefined || from === index) continue;
        const key = from + ">" + index;
        if (seen.has(key)) continue;
        seen.add(key);
        const edge = { from, to: index, tensor };
        edges.push(edge);
        items[from].succs.push(index);
        items[index].preds.push(from);
        items[from].edges.push(edge);
        items[index].edges.push(edge);
      }
    });
    return { items, edges };
  }

  // Longest-path levels by Kahn's algorithm; nodes left in a cycle (invalid ONNX) get level 0.
  function assignLevels(items) {
    const indegree = items.map((item) => item.preds.length);
    const level = items.map(() => 0);
    const queue = [];
    indegree.forEach((degree, index) => { if (degree === 0) queue.push(index); });
    for (let head = 0; head < queue.length; head++) {
      const index = queue[head];
      for (const next of items[index].succs) {
        level[next] = Math.max(level[next], level[index] + 1);
        if (--indegree[next] === 0) queue.push(next);
      }
    }
    // A source (no producer: a graph input, or a constant-only node when they are shown) sits just
    // above its first consumer rather than at the top with a long edge down.
    items.forEach((item, index) => {
      if (item.preds.length === 0 && item.succs.length > 0) {
        level[index] = Math.max(0, Math.min(...item.succs.map((next) => level[next])) - 1);
      }
    });
    items.forEach((item, index) => { item.level = level[index]; });
    const levels = [];
    items.forEach((item, index) => {
      (levels[item.level] = levels[item.level] || []).push(index);
    });
    return levels.map((level) => level || []);
  }

  function orderLevels(items, levels) {
    const position = new Map();
    const remember = () => levels.forEach((level) => level.forEach((index, i) => position.set(index, i)));
    remember();
    const barycenter = (index, neighbours) => {
      if (neighbours.length === 0) return position.get(index);
      let sum = 0;
      for (const n of neighbours) sum += position.get(n);
      return sum / neighbours.length;
    };
    for (let sweep = 0; sweep < SWEEPS; sweep++) {
      const down = sweep % 2 === 0;
      const order = down ? levels.map((_, i) => i) : levels.map((_, i) => levels.length - 1 - i);
      for (const l of order.slice(1)) {
        const level = levels[l];
        const key = new Map(level.map((index) => [index, barycenter(index, down ? items[index].preds : items[index].succs)]));
        level.sort((a, b) => key.get(a) - key.get(b) || a - b);
        level.forEach((index, i) => position.set(index, i));
      }
    }
  }

  function placeNodes(items, levels) {
    const step = NODE_WIDTH + GAP_X;
    levels.forEach((level, l) => {
      level.forEach((index, i) => {
        items[index].x = (i - (level.length - 1) / 2) * step;
        items[index].y = l * (NODE_HEIGHT + GAP_Y);
      });
    });
    // Pull each node toward its producers (then consumers) keeping the order and the spacing.
    for (let pass = 0; pass < 4; pass++) {
      const down = pass % 2 === 0;
      const order = down ? levels.map((_, i) => i) : levels.map((_, i) => levels.length - 1 - i);
      for (const l of order) {
        const level = levels[l];
        if (level.length === 0) continue;
        // Pulled by the neighbours on this side, constant sources (a weight's Constant or
        // DequantizeLinear, placed beside their consumer) left out unless there is nothing else: each
        // would pull its consumer sideways, level after level, and the graph would drift.
        // A node without neighbours on this side has no wish: it takes the slot beside its level mates.
        const pulls = level.map((index) => {
          const neighbours = down ? items[index].preds : items[index].succs;
          const real = neighbours.filter((n) => items[n].preds.length > 0 || items[n].kind === "io");
          return real.length ? real : neighbours;
        });
        const anchored = pulls.map((neighbours) => neighbours.length > 0);
        if (!anchored.some(Boolean)) continue;
        const desired = level.map((index, i) => {
          if (!anchored[i]) return null;
          return pulls[i].reduce((sum, n) => sum + items[n].x, 0) / pulls[i].length;
        });
        const firstAnchor = anchored.indexOf(true);
        for (let i = firstAnchor - 1; i >= 0; i--) desired[i] = desired[i + 1] - step;
        for (let i = firstAnchor + 1; i < desired.length; i++) if (desired[i] === null) desired[i] = desired[i - 1] + step;
        const placed = [];
        desired.forEach((x, i) => { placed.push(i === 0 ? x : Math.max(x, placed[i - 1] + step)); });
        // Shift the whole level so that its anchored nodes sit as close as possible to where they want
        // to be; constant sources only count in a level made of nothing else.
        const isSource = level.map((index) => items[index].preds.length === 0 && items[index].kind === "node");
        const counts = level.map((_, i) => anchored[i] && (!isSource[i] || isSource.every(Boolean)));
        const counted = counts.filter(Boolean).length;
        let shift = 0;
        desired.forEach((x, i) => { if (counts[i]) shift += x - placed[i]; });
        shift = counted ? shift / counted : 0;
        level.forEach((index, i) => { items[index].x = placed[i] + shift; });
      }
    }
  }

  function layout(options) {
    const graph = buildGraph(options);
    const levels = assignLevels(graph.items);
    orderLevels(graph.items, levels);
    placeNodes(graph.items, levels);
    let minX = Infinity, maxX = -Infinity, maxY = 0;
    for (const item of graph.items) {
      minX = Math.min(minX, item.x - NODE_WIDTH / 2);
      maxX = Math.max(maxX, item.x + NODE_WIDTH / 2);
      maxY = Math.max(maxY, item.y + NODE_HEIGHT);
    }
    if (!graph.items.length) { minX = 0; maxX = 0; }
    graph.bounds = { minX, maxX, minY: 0, maxY, levels: levels.length };
    return graph;
  }

  function edgePath(from, to) {
    const x1 = from.x, y1 = from.y + NODE_HEIGHT, x2 = to.x, y2 = to.y;
    const bend = Math.max(GAP_Y / 2, (y2 - y1) / 3);
    return `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`;
  }

  function create(container, options) {
    container.textContent = "";
    const root = svg("svg", { role: "img", "aria-label": "model graph" });
    const viewport = svg("g", { class: "viewport" });
    const edgeLayer = svg("g", { class: "edges" });
    const nodeLayer = svg("g", { class: "nodes" });
    viewport.append(edgeLayer, nodeLayer);
    root.append(viewport);
    container.append(root);

    let graph = null;
    let selectedIndex = -1;
    const transform = { x: 0, y: 0, k: 1 };
    const applyTransform = () => viewport.setAttribute("transform", `translate(${transform.x},${transform.y}) scale(${transform.k})`);

    function draw() {
      graph = layout(options);
      edgeLayer.textContent = "";
      nodeLayer.textContent = "";
      for (const edge of graph.edges) {
        edge.element = svg("path", { class: "gedge", d: edgePath(graph.items[edge.from], graph.items[edge.to]) });
        const title = svg("title");
        title.textContent = edge.tensor;
        edge.element.append(title);
        edgeLayer.append(edge.element);
      }
      graph.items.forEach((item, index) => {
        const precision = item.kind === "io" ? "io" : (item.node.precision || "fp32");
        const group = svg("g", {
          class: "gnode " + precision,
          transform: `translate(${item.x - NODE_WIDTH / 2},${item.y})`,
          "data-index": index,
          "data-name": item.name,
        });
        group.append(svg("rect", { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 4 }));
        const top = svg("text", { x: 8, y: 14, "font-weight": "600" });
        const bottom = svg("text", { x: 8, y: 28, opacity: 0.85 });
        if (item.kind === "io") {
          top.textContent = item.label;
          bottom.textContent = shorten(item.name, 21);
        } else {
          top.textContent = shorten(item.node.op_type + (precision === "fp32" ? "" : "  · " + precision), 21);
          bottom.textContent = shorten(item.name, 21);
        }
        const title = svg("title");
        title.textContent = item.kind === "io" ? `${item.label} ${item.name}` :
          `${item.name} (${item.node.op_type}, ${precision})${item.node.note ? "\n" + item.node.note : ""}`;
        group.append(top, bottom, title);
        item.element = group;
        nodeLayer.append(group);
      });
      refresh();
      if (selectedIndex >= graph.items.length) selectedIndex = -1;
    }

    function refresh() {
      if (!graph) return;
      graph.items.forEach((item, index) => {
        const ignored = item.kind === "node" && options.isIgnored && options.isIgnored(item.name);
        item.element.classList.toggle("ignored", !!ignored);
        item.element.classList.toggle("selected", index === selectedIndex);
      });
      for (const edge of graph.edges) {
        edge.element.classList.toggle("hot", edge.from === selectedIndex || edge.to === selectedIndex);
      }
    }

    function size() {
      const rect = root.getBoundingClientRect();
      return { width: rect.width || 800, height: rect.height || 560 };
    }

    // Fits the graph's width (never zooming in past 1), showing its top; "all" fits height too.
    function fit(all) {
      const { width, height } = size();
      const b = graph.bounds;
      const graphWidth = Math.max(1, b.maxX - b.minX);
      const graphHeight = Math.max(1, b.maxY - b.minY);
      let k = Math.min(1, (width - 40) / graphWidth);
      if (all) k = Math.min(k, (height - 40) / graphHeight);
      transform.k = Math.max(MIN_SCALE, k);
      transform.x = width / 2 - ((b.minX + b.maxX) / 2) * transform.k;
      transform.y = all ? (height - graphHeight * transform.k) / 2 : 20;
      applyTransform();
    }

    function zoomAt(factor, cx, cy) {
      const k = Math.min(MAX_SCALE, Math.max(MIN_SCALE, transform.k * factor));
      transform.x = cx - (cx - transform.x) * (k / transform.k);
      transform.y = cy - (cy - transform.y) * (k / transform.k);
      transform.k = k;
      applyTransform();
    }

    function zoomBy(factor) {
      const { width, height } = size();
      zoomAt(factor, width / 2, height / 2);
    }

    function select(name, opts) {
      selectedIndex = graph.items.findIndex((item) => item.kind === "node" && item.name === name);
      refresh();
      if (selectedIndex >= 0 && opts && opts.center) {
        const item = graph.items[selectedIndex];
        const { width, height } = size();
        if (transform.k < 0.5) transform.k = 0.8;
        transform.x = width / 2 - item.x * transform.k;
        transform.y = height / 2 - (item.y + NODE_HEIGHT / 2) * transform.k;
        applyTransform();
      }
      return selectedIndex >= 0;
    }

    // Pointer handling: drag pans; a press released within CLICK_SLOP_PX selects what is under it.
    let drag = null;
    const onPointerDown = (event) => {
      if (event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, tx: transform.x, ty: transform.y, moved: false, target: event.target };
      root.setPointerCapture(event.pointerId);
    };
    const onPointerMove = (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < CLICK_SLOP_PX) return;
      drag.moved = true;
      container.classList.add("dragging");
      transform.x = drag.tx + dx;
      transform.y = drag.ty + dy;
      applyTransform();
    };
    const onPointerUp = (event) => {
      if (!drag) return;
      const wasClick = !drag.moved;
      const target = drag.target;
      drag = null;
      container.classList.remove("dragging");
      if (!wasClick) return;
      const group = target.closest ? target.closest("g.gnode") : null;
      const index = group ? Number(group.getAttribute("data-index")) : -1;
      const item = index >= 0 ? graph.items[index] : null;
      if (item && item.kind === "node") {
        selectedIndex = index;
        refresh();
        if (options.onSelect) options.onSelect(item.node);
      } else {
        selectedIndex = -1;
        refresh();
        if (options.onSelect) options.onSelect(null);
      }
    };
    const onWheel = (event) => {
      event.preventDefault();
      const rect = root.getBoundingClientRect();
      zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - rect.left, event.clientY - rect.top);
    };
    root.addEventListener("pointerdown", onPointerDown);
    root.addEventListener("pointermove", onPointerMove);
    root.addEventListener("pointerup", onPointerUp);
    root.addEventListener("wheel", onWheel, { passive: false });

    draw();
    fit(false);

    return {
      refresh,
      fit: () => fit(true),
      fitWidth: () => fit(false),
      zoomBy,
      select,
      setShowConstants(show) { options.showConstants = show; draw(); fit(false); },
      stats() { return { nodes: graph.items.length, edges: graph.edges.length, levels: graph.bounds.levels }; },
      destroy() { container.textContent = ""; },
    };
  }

  window.OctetGraph = { create, layout };
})();
