/*
 * civic-gis crew map: report markers, popups, legend and overlay layers, built in the browser
 * from the JSON data blocks that service/crew/map_page.py writes into the page once (the
 * format is described in that module's docstring). Needs Leaflet 1.9 and Leaflet.markercluster 1.5,
 * served from /crew/static/vendor/; no build step, no other dependency.
 *
 * Every text that comes with the data (categories, shelter names, zone labels, URLs) reaches
 * the page through textContent or a DOM property, never as HTML, so none of it can inject
 * markup; styles are set through element.style for the same reason.
 *
 * Copyright (c) civic-gis contributors. MIT licence.
 */
(function () {
  "use strict";

  var FORMAT_VERSION = 2;
  var SCALE = 1e5; // coordinates travel as integers of 1e-5 degree
  var MARKER = 44; // a marker's tap area in pixels (its disc is smaller, the area is not)

  function readData(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }

  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Leaflet focuses the map on the first press of a button. Inside the crew page's iframe that
  // focus scrolls the crew page to show the whole map, so the release lands off the marker
  // and the first click on a marker did nothing. Focus without scrolling instead.
  L.Map.Keyboard.prototype._onMouseDown = function () {
    if (!this._focused) this._map.getContainer().focus({ preventScroll: true });
  };

  // A marker drawn with DOM styles only: a coloured disc or square with a short text, inside
  // a transparent tap area; a count badge at its corner when the case has several reports.
  var BadgeIcon = L.Icon.extend({
    options: { className: "crew-badge", colour: "#666", text: "", count: "", round: true, disc: 20 },

    createIcon: function (oldIcon) {
      var o = this.options;
      var area = o.iconSize[0];
      var div = oldIcon && oldIcon.tagName === "DIV" ? oldIcon : document.createElement("div");
      div.textContent = "";
      var disc = el("span", o.text);
      var s = disc.style;
      s.position = "absolute";
      s.left = s.top = (area - o.disc) / 2 + "px";
      s.width = s.height = o.disc + "px";
      s.background = o.colour;
      s.color = "#fff";
      s.border = "2px solid #fff";
      s.borderRadius = o.round ? "50%" : "4px";
      s.boxShadow = "0 1px 4px rgba(0, 0, 0, 0.6)";
      s.boxSizing = "border-box";
      s.font = "bold " + Math.round(o.disc * 0.5) + "px/" + (o.disc - 4) + "px sans-serif";
      s.textAlign = "center";
      div.appendChild(disc);
      if (o.count) {
        var badge = el("span", o.count);
        var b = badge.style;
        b.position = "absolute";
        b.right = "0";
        b.top = "0";
        b.minWidth = "18px";
        b.padding = "0 4px";
        b.borderRadius = "9px";
        b.background = "#fff";
        b.color = "#1a1a1a";
        b.border = "1px solid #1a1a1a";
        b.boxSizing = "border-box";
        b.font = "bold 11px/16px sans-serif";
        b.textAlign = "center";
        div.appendChild(badge);
      }
      this._setIconStyles(div, "icon");
      return div;
    },

    createShadow: function () {
      return null;
    },
  });

  // Cluster bubbles: the number of cases inside, coloured by the most urgent status among
  // them (status codes follow the workflow, "received" first), so new reports stand out.
  function bubbleIcon(colours, word) {
    return function (cluster) {
      var markers = cluster.getAllChildMarkers();
      var worst = colours.length - 1;
      for (var i = 0; i < markers.length; i++) {
        if (markers[i].options.crewStatus < worst) worst = markers[i].options.crewStatus;
      }
      var count = cluster.getChildCount();
      var side = count < 10 ? 40 : count < 100 ? 44 : count < 1000 ? 48 : 52;
      var inner = el("div", String(count));
      var s = inner.style;
      s.width = s.height = "100%";
      s.boxSizing = "border-box";
      s.borderRadius = "50%";
      s.border = "4px solid rgba(255, 255, 255, 0.8)";
      s.background = colours[worst];
      s.color = "#fff";
      s.font = "bold 13px/" + (side - 8) + "px sans-serif";
      s.textAlign = "center";
      s.boxShadow = "0 1px 4px rgba(0, 0, 0, 0.5)";
      var icon = L.divIcon({ html: inner, className: "crew-bubble", iconSize: L.point(side, side) });
      cluster.options.title = word.replace("{n}", String(count));
      return icon;
    };
  }

  function timeFormat(timeZone) {
    var format = new Intl.DateTimeFormat("ja-JP", {
      timeZone: timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
    return function (minutes) {
      return format.format(new Date(minutes * 60000));
    };
  }

  function row(table, label, value) {
    var tr = table.insertRow();
    var th = el("th", label);
    th.style.textAlign = "left";
    th.style.paddingRight = "8px";
    th.style.fontWeight = "normal";
    th.style.color = "#555";
    tr.appendChild(th);
    var td = tr.insertCell();
    if (typeof value === "string") td.textContent = value;
    else td.appendChild(value);
  }

  function swatch(colour, label) {
    var span = el("span");
    var box = el("span");
    box.style.display = "inline-block";
    box.style.width = box.style.height = "10px";
    box.style.marginRight = "4px";
    box.style.borderRadius = "50%";
    box.style.background = colour;
    span.appendChild(box);
    span.appendChild(document.createTextNode(label));
    return span;
  }

  function statusText(d, code) {
    return d.status_labels[code];
  }

  function legend(d) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = el("div");
      var s = box.style;
      s.background = "rgba(255, 255, 255, 0.92)";
      s.padding = "4px 8px";
      s.borderRadius = "4px";
      s.boxShadow = "0 0 4px rgba(0, 0, 0, 0.3)";
      s.font = "12px/1.6 sans-serif";
      s.color = "#1a1a1a";
      for (var code = 0; code < d.statuses.length; code++) {
        var line = el("div");
        line.appendChild(swatch(d.colours[code], statusText(d, code)));
        box.appendChild(line);
      }
      return box;
    };
    return control;
  }

  // A line on the map that says something went wrong (a base map or a layer that did not
  // load): the map itself keeps working.
  function notice(map, text) {
    var control = L.control({ position: "topleft" });
    control.onAdd = function () {
      var box = el("div", text);
      box.setAttribute("role", "status");
      box.className = "crew-notice";
      var s = box.style;
      s.background = "#fff";
      s.color = "#1a1a1a";
      s.border = "2px solid #ac3e00";
      s.borderRadius = "6px";
      s.padding = "6px 10px";
      s.maxWidth = "280px";
      s.font = "bold 13px/1.5 sans-serif";
      s.boxShadow = "0 1px 4px rgba(0, 0, 0, 0.3)";
      return box;
    };
    return control.addTo(map);
  }

  var words = {}; // the page's words, from the report data block (read first)

  // The map keeps its view for the tab (sessionStorage), so that coming back from a case the
  // crew finds the street they left, not the whole ward again.
  function keepView(map) {
    var key = "crewmap-view:" + location.pathname + location.search;
    try {
      var saved = JSON.parse(sessionStorage.getItem(key) || "null");
      if (saved) map.setView([saved[0], saved[1]], saved[2], { animate: false });
      map.on("moveend", function () {
        var c = map.getCenter();
        sessionStorage.setItem(key, JSON.stringify([c.lat, c.lng, map.getZoom()]));
      });
    } catch (e) {
      // Storage refused (private mode): the map simply opens fitted.
    }
  }

  // The report clusters: one marker per cluster, grouped client-side by Leaflet.markercluster.
  // Popups are built on the first click on a marker, from the data, not ahead for every one.
  function reports(map, dataId, options) {
    var d = readData(dataId);
    if (d.v !== FORMAT_VERSION) throw new Error("crew map data format " + d.v);
    words = d.words;
    var raw = d.rows;
    var stride = d.stride;
    var n = raw.length / stride;
    var ids = new Array(n);
    var firsts = new Array(n);
    var latlngs = new Array(n);
    var markers = new Array(n);
    var icons = {};
    var time = timeFormat(d.tz);

    options.iconCreateFunction = bubbleIcon(d.colours, d.words.bubble);
    var group = L.markerClusterGroup(options);

    var id = 0;
    var first = d.t0;
    for (var i = 0, j = 0; i < n; i++, j += stride) {
      id += raw[j];
      first += raw[j + 6];
      ids[i] = id;
      firsts[i] = first;
      var category = raw[j + 3];
      var status = raw[j + 4];
      var count = raw[j + 5];
      // The report count rides along as the point's altitude: Leaflet.heat reads it as weight.
      var latlng = L.latLng((d.origin[1] + raw[j + 2]) / SCALE, (d.origin[0] + raw[j + 1]) / SCALE, count);
      var key = category + "/" + status + "/" + (count > 1 ? count : "");
      var icon = icons[key];
      if (!icon) {
        icon = icons[key] = new BadgeIcon({
          iconSize: [MARKER, MARKER],
          disc: 34,
          colour: d.colours[status],
          text: d.symbols[category],
          count: count > 1 ? String(count) : "",
        });
      }
      latlngs[i] = latlng;
      markers[i] = L.marker(latlng, {
        icon: icon,
        title: d.categories[category],
        crewRow: i,
        crewStatus: status,
      });
    }

    function url(template, id) {
      return template[0] + id + template[1];
    }

    function popup(layer) {
      var i = layer.options.crewRow;
      var j = i * stride;
      var id = ids[i];
      var box = el("div");
      box.style.minWidth = "200px";
      box.style.font = "14px/1.5 sans-serif";
      box.style.color = "#1a1a1a";
      var title = el("strong", d.words.case.replace("{id}", String(id)));
      title.style.display = "block";
      title.style.fontSize = "16px";
      box.appendChild(title);
      box.appendChild(el("div", d.categories[raw[j + 3]]));
      var table = el("table");
      table.style.borderCollapse = "collapse";
      table.style.margin = "4px 0";
      row(table, d.words.status, swatch(d.colours[raw[j + 4]], statusText(d, raw[j + 4])));
      row(table, d.words.reports, String(raw[j + 5]));
      row(table, d.words.first, time(firsts[i]));
      row(table, d.words.latest, time(firsts[i] + raw[j + 7]));
      box.appendChild(table);
      if (raw[j + 8] === 1) {
        // A fixed box: the popup has its final size before the thumbnail arrives, so Leaflet
        // pans it fully into view and the image loading later cannot push its head out.
        var img = el("img");
        img.alt = d.words.photo;
        img.width = 200;
        img.height = 150;
        img.src = url(d.thumbnail, id);
        var t = img.style;
        t.display = "block";
        t.width = "200px";
        t.height = "150px";
        t.objectFit = "cover";
        t.background = "#e6e6e6";
        t.borderRadius = "4px";
        t.margin = "6px 0";
        box.appendChild(img);
      }
      var link = el("a", d.words.open);
      link.href = url(d.detail, id);
      link.target = "_top";
      var k = link.style;
      k.display = "inline-block";
      k.padding = "10px 0";
      k.fontWeight = "bold";
      k.fontSize = "15px";
      box.appendChild(link);
      return box;
    }

    // A click, or Enter on a marker that has the keyboard's focus, opens its popup.
    group.on("click keypress", function (e) {
      var marker = e.layer;
      if (e.type === "keypress" && e.originalEvent.keyCode !== 13) return;
      if (!marker.getPopup()) {
        var room = map.getSize();
        marker
          .bindPopup(popup(marker), {
            maxWidth: 260,
            maxHeight: Math.max(160, room.y - 80),
            autoPanPadding: L.point(12, 12),
          })
          .openPopup();
      }
    });

    // The legend goes with the layer: off when the reports are switched off.
    if (d.legend) {
      var statusLegend = legend(d);
      group.on("add", function () {
        statusLegend.addTo(map);
      });
      group.on("remove", function () {
        statusLegend.remove();
      });
    }
    L.control.scale({ imperial: false }).addTo(map);

    group.addLayers(markers);
    group.crewLatLngs = latlngs;
    if (d.keep_view) keepView(map);
    return group;
  }

  function shelters(d) {
    var icon = new BadgeIcon({ iconSize: [32, 32], disc: 24, colour: d.colour, text: "避", round: false });
    var layers = d.points.map(function (p) {
      return L.marker([p[0], p[1]], { icon: icon, title: p[2] }).bindTooltip(el("span", p[2]));
    });
    return L.layerGroup(layers);
  }

  // Facilities: a round badge per category (its letter and colour), "category: name" tooltip.
  function facilities(d) {
    var icons = d.categories.map(function (c) {
      return new BadgeIcon({ iconSize: [32, 32], disc: 24, colour: c.colour, text: c.badge, round: true });
    });
    var layers = d.points.map(function (p) {
      var tip = d.categories[p[3]].label + ": " + p[2];
      var marker = L.marker([p[0], p[1]], { icon: icons[p[3]], title: p[2] });
      return marker.bindTooltip(el("span", tip));
    });
    return L.layerGroup(layers);
  }

  // Polygons (hazard zones, the service area): a style by index, an optional tooltip text.
  function zones(d, attribution) {
    return L.geoJSON(d.geojson, {
      attribution: d.attribution || attribution,
      interactive: d.interactive,
      style: function (feature) {
        return d.styles[feature.properties.s];
      },
      onEachFeature: function (feature, layer) {
        if (feature.properties.t) layer.bindTooltip(el("span", feature.properties.t), { sticky: true });
      },
    });
  }

  var FACTORIES = { shelters: shelters, facilities: facilities, zones: zones };

  // A layer whose data is in the page (the service area).
  function inPage(factory) {
    return function (dataId) {
      return FACTORIES[factory](readData(dataId));
    };
  }

  // A layer that is off at first: its data is fetched from the app when it is switched on,
  // once; the page does not carry it.
  function lazy(factory, url, attribution) {
    // The credit for the layer's data shows while the layer does.
    var group = L.layerGroup([], { attribution: attribution || undefined });
    var state = "empty";
    group.on("add", function () {
      if (state !== "empty") return;
      state = "loading";
      var map = group._map;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (answer) {
          if (!answer.ok) throw new Error(answer.status + " " + url);
          return answer.json();
        })
        .then(function (d) {
          group.addLayer(FACTORIES[factory](d));
          state = "loaded";
        })
        .catch(function () {
          state = "empty";
          if (map) {
            var shown = notice(map, words.no_layer);
            setTimeout(function () {
              shown.remove();
            }, 6000);
          }
        });
    });
    return group;
  }

  // A base map. Leaflet loads only the tiles in view, and only for the base map shown. When
  // none of its tiles can be loaded (no internet), the map says so and works on without it.
  function basemap(spec) {
    var layer = L.tileLayer(spec.url, {
      attribution: spec.attribution,
      minZoom: spec.min_zoom,
      maxNativeZoom: spec.max_native_zoom,
      maxZoom: spec.max_zoom,
    });
    var loaded = 0;
    var shown = null;
    layer.on("tileload", function () {
      loaded++;
      if (shown) {
        shown.remove();
        shown = null;
      }
    });
    layer.on("tileerror", function () {
      if (!loaded && !shown && layer._map) shown = notice(layer._map, spec.unavailable);
    });
    layer.on("remove", function () {
      if (shown) {
        shown.remove();
        shown = null;
      }
    });
    return layer;
  }

  window.CrewMap = {
    reports: reports,
    zones: inPage("zones"),
    lazy: lazy,
    basemap: basemap,
  };
})();
