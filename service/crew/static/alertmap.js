/*
 * The alert page (/crew/alerts): the area on a map, and the preview of the message.
 *
 * - "Draw on the map": polygons and rectangles drawn and edited with Leaflet-Geoman; the
 *   form's hidden `drawn` field holds them as a GeoJSON FeatureCollection.
 * - "Circle around a point": a click on the map (or the map's centre, for the keyboard) sets
 *   the hidden `lat`/`lon`; the radius field sizes the circle shown.
 * - After a preview, the server's area (#alert-map-data `area`) is drawn and fitted, and each
 *   language's LINE messages (script.line-messages) are drawn as the LINE app shows them
 *   (linebubbles.js, as in the sandbox chat). Changing the form after a preview disables the
 *   send button: what is sent is what was previewed.
 *
 * Needs Leaflet 1.9, Leaflet-Geoman 2, crewmap.js (the base maps) and linebubbles.js, served
 * by the app. No text of the data goes in as HTML.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($("alert-map-data").textContent);
  const form = $("alert-form");
  const fields = form.elements;

  const STYLES = {
    boundary: { color: "#1a1a1c", weight: 2, dashArray: "6 4", fill: false, interactive: false },
    // What is being drawn: a blue outline; the previewed area: an orange fill beneath it.
    drawn: { color: "#0031d8", weight: 3, fillOpacity: 0.05 },
    circle: { color: "#0031d8", weight: 2, fillOpacity: 0.05, interactive: false },
    area: { color: "#c2410c", weight: 1, fillColor: "#fb923c", fillOpacity: 0.35, interactive: false },
  };

  // ------------------------------------------------------------------ the preview's messages

  const bubbles = LineBubbles.renderer(null);
  for (const block of document.querySelectorAll("script.line-messages")) {
    const target = $(block.dataset.target);
    for (const message of JSON.parse(block.textContent)) target.append(bubbles.message(message));
  }

  const sendButton = document.querySelector("#send-form button[type=submit]");
  function stale() {
    if (!sendButton || sendButton.disabled) return;
    sendButton.disabled = true;
    $("stale").hidden = false;
  }
  form.addEventListener("input", stale);
  form.addEventListener("change", stale);

  function choose(kind) {
    const radio = form.querySelector(`input[name=area_kind][value=${kind}]`);
    if (!radio.checked) {
      radio.checked = true;
      form.dispatchEvent(new Event("change"));
    }
  }

  // ------------------------------------------------------------------ the map

  const map = L.map("alert-map", { zoomSnap: 0.5 });
  for (const credit of data.credits) map.attributionControl.addAttribution(credit);
  // The base maps as on the crew map (crewmap.js): the first shown, the others switchable;
  // without tiles (no internet) the map says so and works on.
  const bases = {};
  for (const spec of data.basemaps) bases[spec.name] = CrewMap.basemap(spec);
  const names = Object.keys(bases);
  if (names.length) bases[names[0]].addTo(map);
  if (names.length > 1) L.control.layers(bases, null, { position: "topright" }).addTo(map);
  let home = null;
  if (data.boundary) {
    const boundary = L.geoJSON(data.boundary, { style: STYLES.boundary, pmIgnore: true });
    boundary.addTo(map);
    home = boundary.getBounds();
  }
  if (home) map.fitBounds(home, { animate: false });
  else map.setView([35.68, 139.76], 12);

  map.pm.setLang("civic", data.tools, "ja");
  const drawn = L.featureGroup().addTo(map);
  map.pm.setGlobalOptions({ layerGroup: drawn, pathOptions: STYLES.drawn });
  map.pm.addControls({
    position: "topleft",
    drawMarker: false,
    drawCircleMarker: false,
    drawPolyline: false,
    drawCircle: false,
    drawText: false,
    cutPolygon: false,
    rotateMode: false,
  });
  // The tools are links with an icon only: give each its title as its name.
  for (const button of map.getContainer().querySelectorAll(".button-container[title] > a")) {
    button.setAttribute("aria-label", button.parentElement.title);
  }

  function saveDrawn() {
    const shapes = drawn.getLayers();
    fields.drawn.value = shapes.length ? JSON.stringify(drawn.toGeoJSON(6)) : "";
    if (shapes.length) choose("draw");
    stale();
  }

  function watch(layer) {
    layer.on("pm:edit pm:dragend", saveDrawn);
  }

  if (data.drawn) {
    L.geoJSON(data.drawn, { style: STYLES.drawn }).eachLayer((layer) => {
      drawn.addLayer(layer);
      watch(layer);
    });
  }
  map.on("pm:create", (event) => {
    watch(event.layer);
    saveDrawn();
  });
  map.on("pm:remove", saveDrawn);

  // ------------------------------------------------------------------ the circle

  let centre = null;
  let circle = null;

  function radius() {
    const metres = Number(fields.radius.value);
    return Number.isFinite(metres) && metres > 0 ? metres : 0;
  }

  function showCircle(latlng) {
    if (!centre) {
      // Drawn with CSS (crew.css), so no marker image is needed.
      const icon = L.divIcon({ className: "alert-centre", iconSize: [22, 22] });
      centre = L.marker(latlng, { icon, draggable: true, pmIgnore: true, keyboard: false });
      centre.addTo(map);
      centre.on("dragend", () => placeCentre(centre.getLatLng()));
      circle = L.circle(latlng, { ...STYLES.circle, radius: radius(), pmIgnore: true }).addTo(map);
    }
    centre.setLatLng(latlng);
    circle.setLatLng(latlng);
    circle.setRadius(radius());
    $("circle-centre").textContent = `${latlng.lat.toFixed(5)}, ${latlng.lng.toFixed(5)}`;
  }

  function placeCentre(latlng) {
    fields.lat.value = latlng.lat.toFixed(6);
    fields.lon.value = latlng.lng.toFixed(6);
    showCircle(latlng);
    choose("circle");
    stale();
  }

  if (data.circle) showCircle(L.latLng(data.circle.lat, data.circle.lon));
  map.on("click", (event) => {
    if (fields.area_kind.value === "circle" && !map.pm.globalDrawModeEnabled()) {
      placeCentre(event.latlng);
    }
  });
  $("use-centre").addEventListener("click", () => placeCentre(map.getCenter()));
  fields.radius.addEventListener("input", () => {
    if (circle) circle.setRadius(radius());
  });

  // ------------------------------------------------------------------ the previewed area

  // The page opens on what it is about, without an animation from the whole ward.
  const fit = { padding: [16, 16], maxZoom: 17, animate: false };
  if (data.area) {
    const area = L.geoJSON(data.area, { style: STYLES.area, pmIgnore: true }).addTo(map);
    area.bringToBack();
    map.fitBounds(area.getBounds(), fit);
  } else if (drawn.getLayers().length) {
    map.fitBounds(drawn.getBounds(), fit);
  } else if (circle) {
    map.fitBounds(circle.getBounds(), fit);
  }
})();
