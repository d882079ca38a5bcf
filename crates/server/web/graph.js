// Draws the graph of the page's <div id="graph" data-src="/api/graph/..."> with
// cytoscape.js (bundled by crates/server/build.rs, served from /static/).
// The data are JSON from this server; labels go onto a canvas, never into
// HTML. A tap on a node opens the node's page (a path on this server only).
// The table under the graph holds the same nodes and edges.
(function () {
  'use strict';
  var el = document.getElementById('graph');
  if (!el) return;
  var note = document.getElementById('graph-note');
  function say(text) { if (note) note.textContent = text; }
  if (typeof window.cytoscape !== 'function') {
    say('The graph library was not bundled into this build; the table below lists the same graph.');
    el.style.display = 'none';
    return;
  }
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
  var groups = {};
  function colour(g) {
    if (!(g in groups)) groups[g] = palette[Object.keys(groups).length % palette.length];
    return groups[g];
  }
  fetch(el.getAttribute('data-src'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
    .then(function (g) {
      if (!g.nodes.length) { say('Nothing to draw.'); el.style.display = 'none'; return; }
      var elements = g.nodes.map(function (n) {
        return { group: 'nodes', data: { id: n.id, label: n.label, href: n.href, colour: colour(n.group) } };
      }).concat(g.edges.map(function (e) {
        return { group: 'edges', data: { id: 'e:' + e.id, source: e.source, target: e.target, label: e.label, weight: e.weight }, classes: e.kind.replace(/[^a-z-]/g, '') };
      }));
      var cy = window.cytoscape({
        container: el,
        elements: elements,
        wheelSensitivity: 0.3,
        style: [
          { selector: 'node', style: { 'background-color': 'data(colour)', label: 'data(label)', 'font-size': 10, 'text-valign': 'bottom', 'text-margin-y': 3, width: 16, height: 16 } },
          { selector: 'edge', style: { width: 'data(weight)', 'line-color': '#999', 'target-arrow-shape': 'triangle', 'target-arrow-color': '#999', 'curve-style': 'bezier', label: 'data(label)', 'font-size': 8, 'text-rotation': 'autorotate' } },
          { selector: 'edge.hard', style: { 'line-color': '#b33', 'target-arrow-color': '#b33' } },
          { selector: 'edge.confirmed', style: { 'line-color': '#2a2', 'target-arrow-color': '#2a2' } },
          { selector: 'edge.rejected', style: { 'line-style': 'dashed', 'line-color': '#ccc' } },
          // Links join two accounts; money flows have a direction.
          { selector: 'edge.hard, edge.confirmed, edge.rejected, edge.undecided', style: { 'target-arrow-shape': 'none' } }
        ],
        layout: { name: g.nodes.length > 300 ? 'grid' : 'cose', animate: false, randomize: false }
      });
      cy.on('tap', 'node', function (ev) {
        var h = ev.target.data('href');
        // Only paths on this server.
        if (h && h.charAt(0) === '/' && h.charAt(1) !== '/') window.location.assign(h);
      });
      // For the browser test: where a node is drawn, in page coordinates.
      window.dragnetGraph = {
        nodes: function () { return cy.nodes().map(function (n) { return n.id(); }); },
        position: function (id) {
          var n = cy.getElementById(id), p = n.renderedPosition(), b = el.getBoundingClientRect();
          return { x: b.left + window.scrollX + p.x, y: b.top + window.scrollY + p.y, href: n.data('href') };
        }
      };
      el.setAttribute('data-ready', String(g.nodes.length));
      say(g.nodes.length + ' nodes, ' + g.edges.length + ' edges. Tap a node to open it; drag to move, scroll to zoom.');
    })
    .catch(function (e) { say('The graph could not be drawn (' + e.message + '); the table below lists it.'); el.style.display = 'none'; });
})();
