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

  var FORMAT_VERSION = 1;
  var SCALE = 1e5; // coordinates travel as integers of 1e-5 degree

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

  // A marker icon drawn with DOM styles only: a coloured disc or square with a short text.
  var BadgeIcon = L.Icon.extend({
    options: { className: "crew-badge", colour: "#777", text: "", round: true },

    createIcon: function (oldIcon) {
      var o = this.options;
      var side = o.iconSize[0];
      var div = oldIcon && oldIcon.tagName === "DIV" ? oldIcon : document.createElement("div");
      var s = div.style;
      div.textContent = o.text;
      s.background = o.colour;
      s.color = "#fff";
      s.border = "2px solid #fff";
      s.borderRadius = o.round ? "50%" : "3px";
      s.boxShadow = "0 0 3px rgba(0, 0, 0, 0.6)";
      s.boxSizing = "border-box";
      s.font = "bold 11px/" + (side - 4) + "px sans-serif";
      s.textAlign = "center";
      this._setIconStyles(div, "icon");
      return div;
    },

    createShadow: function () {
      return null;
    },
  });

  // Badge side in pixels: grows with the logarithm of the report count, capped.
  function badgeSide(count) {
    return Math.min(40, Math.round(14 + 6 * Math.log2(Math.max(count, 1))));
  }

  // Cluster bubbles: the number of places inside, coloured by the most urgent status among
  // them (status codes follow the workflow, "received" first), so new reports stand out.
  function bubbleIcon(colours) {
    return function (cluster) {
      var markers = cluster.getAllChildMarkers();
      var worst = colours.length - 1;
      for (var i = 0; i < markers.length; i++) {
        if (markers[i].options.crewStatus < worst) worst = markers[i].options.crewStatus;
      }
      var count = cluster.getChildCount();
      var side = count < 10 ? 30 : count < 100 ? 36 : count < 1000 ? 42 : 48;
      var inner = el("div", String(count));
      var s = inner.style;
      s.width = s.height = "100%";
      s.boxSizing = "border-box";
      s.borderRadius = "50%";
      s.border = "4px solid rgba(255, 255, 255, 0.7)";
      s.background = colours[worst];
      s.color = "#fff";
      s.font = "bold 12px/" + (side - 8) + "px sans-serif";
      s.textAlign = "center";
      s.boxShadow = "0 0 4px rgba(0, 0, 0, 0.5)";
      return L.divIcon({ html: inner, className: "crew-bubble", iconSize: L.point(side, side) });
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
    var label = d.status_labels[code];
    return label === d.statuses[code] ? label : label + " (" + d.statuses[code] + ")";
  }

  function legend(d) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = el("div");
      var s = box.style;
      s.background = "rgba(255, 255, 255, 0.9)";
      s.padding = "4px 8px";
      s.borderRadius = "4px";
      s.boxShadow = "0 0 4px rgba(0, 0, 0, 0.3)";
      s.font = "12px/1.6 sans-serif";
      for (var code = 0; code < d.statuses.length; code++) {
        var line = el("div");
        line.appendChild(swatch(d.colours[code], statusText(d, code)));
        box.appendChild(line);
      }
      return box;
    };
    return control;
  }

  // The report clusters: one marker per cluster, grouped client-side by Leaflet.markercluster.
  // Popups are built on the first click on a marker, from the data, not ahead for every one.
  function reports(map, dataId, options) {
    var d = readData(dataId);
    if (d.v !== FORMAT_VERSION) throw new Error("crew map data format " + d.v);
    var raw = d.rows;
    var stride = d.stride;
    var n = raw.length / stride;
    var ids = new Array(n);
    var firsts = new Array(n);
    var latlngs = new Array(n);
    var markers = new Array(n);
    var icons = {};
    var time = timeFormat(d.tz);

    options.iconCreateFunction = bubbleIcon(d.colours);
    var group = L.markerClusterGroup(options);

    var id = 0;
    var first = d.t0;
    for (var i = 0, j = 0; i < n; i++, j += stride) {
      id += raw[j];
      first += raw[j + 6];
      ids[i] = id;
      firsts[i] = first;
      var status = raw[j + 4];
      var count = raw[j + 5];
      // The report count rides along as the point's altitude: Leaflet.heat reads it as weight.
      var latlng = L.latLng((d.origin[1] + raw[j + 2]) / SCALE, (d.origin[0] + raw[j + 1]) / SCALE, count);
      var key = status + "/" + count;
      var icon = icons[key];
      if (!icon) {
        var side = badgeSide(count);
        icon = icons[key] = new BadgeIcon({
          iconSize: [side, side],
          colour: d.colours[status],
          text: count > 1 ? String(count) : "",
        });
      }
      latlngs[i] = latlng;
      markers[i] = L.marker(latlng, {
        icon: icon,
        title: d.categories[raw[j + 3]],
        crewRow: i,
        crewStatus: status,
      });
    }

    // A URL slot holds 1 for "the template with this id", or the URL itself.
    function url(template, value, id) {
      return value === 1 ? template[0] + id + template[1] : value;
    }

    function popup(layer) {
      var i = layer.options.crewRow;
      var j = i * stride;
      var id = ids[i];
      var box = el("div");
      box.style.minWidth = "180px";
      var title = el("strong", d.categories[raw[j + 3]]);
      title.style.display = "block";
      title.style.marginBottom = "4px";
      box.appendChild(title);
      var table = el("table");
      table.style.borderCollapse = "collapse";
      row(table, d.words.status, swatch(d.colours[raw[j + 4]], statusText(d, raw[j + 4])));
      row(table, d.words.reports, String(raw[j + 5]));
      row(table, d.words.first, time(firsts[i]));
      row(table, d.words.latest, time(firsts[i] + raw[j + 7]));
      box.appendChild(table);
      if (raw[j + 9] !== 0) {
        var img = el("img");
        img.alt = "";
        img.loading = "lazy";
        img.src = url(d.thumbnail, raw[j + 9], id);
        img.style.display = "block";
        img.style.maxWidth = "200px";
        img.style.maxHeight = "200px";
        img.style.margin = "6px 0";
        box.appendChild(img);
      }
      var link = el("a", d.words.details + " #" + id);
      link.href = url(d.detail, raw[j + 8], id);
      link.target = "_top";
      box.appendChild(link);
      return box;
    }

    group.on("click", function (e) {
      var marker = e.layer;
      if (!marker.getPopup()) marker.bindPopup(popup, { maxWidth: 260 }).openPopup();
    });

    // The legend goes with the layer: off when the reports are switched off.
    var statusLegend = legend(d);
    group.on("add", function () {
      statusLegend.addTo(map);
    });
    group.on("remove", function () {
      statusLegend.remove();
    });

    group.addLayers(markers);
    group.crewLatLngs = latlngs;
    return group;
  }

  function shelters(dataId) {
    var d = readData(dataId);
    var icon = new BadgeIcon({ iconSize: [18, 18], colour: d.colour, text: "避", round: false });
    var layers = d.points.map(function (p) {
      return L.marker([p[0], p[1]], { icon: icon, title: p[2] }).bindTooltip(el("span", p[2]));
    });
    return L.layerGroup(layers);
  }

  // Facilities: a round badge per category (its letter and colour), "category: name" tooltip.
  function facilities(dataId) {
    var d = readData(dataId);
    var icons = d.categories.map(function (c) {
      return new BadgeIcon({ iconSize: [18, 18], colour: c.colour, text: c.badge, round: true });
    });
    var layers = d.points.map(function (p) {
      var tip = d.categories[p[3]].label + ": " + p[2];
      var marker = L.marker([p[0], p[1]], { icon: icons[p[3]], title: p[2] });
      return marker.bindTooltip(el("span", tip));
    });
    return L.layerGroup(layers);
  }

  // Polygons (hazard zones, the service area): a style by index, an optional tooltip text.
  function zones(dataId) {
    var d = readData(dataId);
    return L.geoJSON(d.geojson, {
      interactive: d.interactive,
      style: function (feature) {
        return d.styles[feature.properties.s];
      },
      onEachFeature: function (feature, layer) {
        if (feature.properties.t) layer.bindTooltip(el("span", feature.properties.t), { sticky: true });
      },
    });
  }

  window.CrewMap = {
    reports: reports,
    shelters: shelters,
    facilities: facilities,
    zones: zones,
  };
})();
