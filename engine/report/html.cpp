// --format html: one self-contained page (inline CSS and JS, nothing fetched): a summary, then a
// heatmap of targets x routes, each cell its outcome's letter on its family's colour
// (detail/html_style.hpp), with hover/click detail and filters.
// Buffered: the page is written at finish. The data travels as one JSON blob in a
// <script type="application/json">, and the page's script builds the table from it, so a cell
// costs a few dozen bytes and every string reaches the DOM through textContent/title only.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "probe/sweep_index.hpp"
#include "report/detail/formats.hpp"
#include "report/detail/html_style.hpp"
#include "report/readiness.hpp"

#ifndef URLPROBE_VERSION
#define URLPROBE_VERSION "0.1.0"
#endif

namespace urlprobe::report::detail {

namespace {

void append_number(std::string& out, double v) {
  if (std::isfinite(v))  // microseconds are plenty, and keep 30 000 cells small
    fmt::format_to(std::back_inserter(out), "{}", std::round(v * 1000) / 1000);
  else
    out += "null";
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  fmt::format_to(std::back_inserter(out), ",\"{}\":", key);
  append_json_string(out, value);
}

struct Target {
  std::string url, geography, category, service;
};

struct Cell {
  std::uint64_t row_key = 0;  // orders the rows: the target's position in the sweep
  std::size_t column = 0;
  std::string json;  // the cell's fields after "t" and "r"
};

class HtmlWriter final : public ResultWriter {
 public:
  HtmlWriter(std::FILE* out, std::span<const probe::RouteColumn> routes, const Kept& kept)
      : out_(out), routes_(routes.size()), started_(std::chrono::system_clock::now()), kept_(kept) {
    for (const auto& route : routes)
      add_column(route.label, route.method == route::Method::proxy_list);
  }

  void write(const probe::Result& r) override {
    Cell cell;
    if (routes_) {
      const auto at = probe::SweepIndex(routes_).position(r.sweep_index);
      cell.row_key = at.target;
      cell.column = at.route;
    } else {  // no sweep layout known: rows by URL, columns by route, in order of arrival
      cell.row_key = url_keys_.try_emplace(r.url, url_keys_.size()).first->second;
      const auto label = probe::route_label(r);
      const auto found = std::find_if(columns_.begin(), columns_.end(),
                                      [&](const auto& c) { return c.label == label; });
      cell.column = found != columns_.end()
                        ? static_cast<std::size_t>(found - columns_.begin())
                        : add_column(label, r.route == route::Method::proxy_list);
    }
    targets_.try_emplace(cell.row_key,
                         Target{r.url, r.row.geography(), r.row.category(), r.row.service()});
    auto& j = cell.json;
    fmt::format_to(std::back_inserter(j), ",\"o\":{}", static_cast<int>(r.outcome));
    append_field(j, "d", r.detail);
    if (r.http_status) fmt::format_to(std::back_inserter(j), ",\"h\":{}", r.http_status);
    if (r.proxy_status) fmt::format_to(std::back_inserter(j), ",\"p\":{}", r.proxy_status);
    append_field(j, "a", r.address);
    if (probe::is_failure(r.outcome)) append_field(j, "dn", detail::dns_chain_text(r));
    if (r.route == route::Method::proxy_list || !r.proxy.empty()) append_field(j, "x", r.proxy);
    append_field(j, "pac", r.pac_answer);
    append_field(j, "by", r.bypassed_by);  // the WinHTTP bypass entry that sent it direct
    if (r.tls) {
      append_field(j, "i", r.tls->issuer);
      append_field(j, "s", r.tls->subject);
      append_field(j, "n", r.tls->not_after);
      if (r.tls->days_left) fmt::format_to(std::back_inserter(j), ",\"l\":{}", *r.tls->days_left);
      append_field(j, "v", r.tls->version);
      append_field(j, "te", r.tls->error);
    }
    j += ",\"m\":[";
    for (const auto& phase : {r.ms.dns, r.ms.connect, r.ms.tunnel, r.ms.tls, r.ms.ttfb}) {
      if (phase)
        append_number(j, *phase);
      else
        j += "null";
      j += ',';
    }
    append_number(j, r.ms.total);
    j += ']';
    if (!r.warnings.empty()) {
      j += ",\"w\":[";
      for (std::size_t i = 0; i < r.warnings.size(); ++i) {
        if (i) j += ',';
        append_json_string(j, r.warnings[i]);
      }
      j += ']';
    }
    cells_.push_back(std::move(cell));
  }

  void finish(const Summary& s) override {
    std::map<std::uint64_t, std::size_t> row_of;
    for (const auto& [key, target] : targets_) row_of.emplace(key, row_of.size());
    std::sort(cells_.begin(), cells_.end(), [](const Cell& a, const Cell& b) {
      return a.row_key != b.row_key ? a.row_key < b.row_key : a.column < b.column;
    });

    std::string data = "{\"version\":";
    append_json_string(data, URLPROBE_VERSION);
    data += ",\"generated\":";
    append_json_string(data, rfc3339(std::chrono::system_clock::now()));
    data += ",\"started\":";
    append_json_string(data, rfc3339(started_));
    data += ",\"summary\":{\"by_outcome\":[";
    for (std::size_t i = 0; i < s.by_outcome.size(); ++i)
      fmt::format_to(std::back_inserter(data), "{}{}", i ? "," : "", s.by_outcome[i]);
    fmt::format_to(std::back_inserter(data),
                   "],\"probes\":{},\"planned\":{},\"failures\":{},\"seconds\":",
                   s.finished ? s.finished : cells_.size(), s.planned, s.failures());
    append_number(data, s.seconds);
    fmt::format_to(std::back_inserter(data), ",\"interrupted\":{},\"input_errors\":{},\"notes\":[",
                   s.interrupted ? "true" : "false", s.input_errors);
    for (std::size_t i = 0; i < s.notes.size(); ++i) {
      if (i) data += ',';
      append_json_string(data, s.notes[i]);
    }
    data += "]}";
    if (kept_.readiness.any_results) {
      data += ",\"readiness\":";
      append_readiness_json(data, kept_.readiness, true);
    }
    data += ",\"outcomes\":[";
    for (const auto& row : probe::kOutcomes) {
      data += &row == probe::kOutcomes.data() ? "{\"name\":" : ",{\"name\":";
      append_json_string(data, row.name);
      fmt::format_to(std::back_inserter(data), ",\"code\":\"{}\",\"color\":\"{}\",\"failure\":{}}}",
                     row.code, family_colour(row.family).background,
                     row.failure ? "true" : "false");
    }
    data += "],\n\"routes\":[";
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      data += i ? ",\n{\"label\":" : "\n{\"label\":";
      append_json_string(data, columns_[i].label);
      fmt::format_to(std::back_inserter(data), ",\"proxy\":{}}}",
                     columns_[i].proxy ? "true" : "false");
    }
    data += "],\n\"targets\":[";
    bool first = true;
    for (const auto& [key, t] : targets_) {
      data += first ? "\n{\"url\":" : ",\n{\"url\":";
      first = false;
      append_json_string(data, t.url);
      append_field(data, "geo", t.geography);
      append_field(data, "cat", t.category);
      append_field(data, "svc", t.service);
      data += '}';
    }
    data += "],\n\"cells\":[";
    for (std::size_t i = 0; i < cells_.size(); ++i) {
      fmt::format_to(std::back_inserter(data), "{}{{\"t\":{},\"r\":{}", i ? ",\n" : "\n",
                     row_of.at(cells_[i].row_key), cells_[i].column);
      data += cells_[i].json;
      data += '}';
    }
    data += "]}";

    std::string page(kHead);
    page += outcome_css();
    page += kBody;
    page += script_safe(data);
    page += kScript;
    std::fwrite(page.data(), 1, page.size(), out_);
    std::fflush(out_);
  }

 private:
  struct Column {
    std::string label;
    bool proxy = false;
  };
  std::size_t add_column(std::string label, bool proxy) {
    columns_.push_back({std::move(label), proxy});
    return columns_.size() - 1;
  }

  static constexpr std::string_view kHead = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>urlprobe report</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#212529;background:#f8f9fa}
header{padding:10px 16px 6px;background:#fff;border-bottom:1px solid #dee2e6}
h1{font-size:18px;margin:0 0 4px}
.meta{color:#666;font-size:12px}
.totals{display:flex;gap:18px;margin:6px 0;font-size:15px}
.totals b{font-size:20px}
.legend{display:flex;flex-wrap:wrap;gap:4px 12px;margin:4px 0}
.legend label{display:inline-flex;align-items:center;gap:4px;cursor:pointer;white-space:nowrap}
.sw{display:inline-block;min-width:1.6em;height:1.6em;font:600 12px/1.6em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;text-align:center;border:1px solid rgba(0,0,0,.25);border-radius:2px}
.filters{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;margin:6px 0 2px}
.filters input[type=search]{width:200px}
#status{color:#555}
#errors{background:#ffe3e3;color:#c92a2a;padding:6px 16px}
#wrap{overflow:auto;height:calc(100vh - var(--top,170px));background:#fff}
#grid{min-width:100%;border-collapse:separate;border-spacing:0}
thead th{position:sticky;top:0;z-index:2;background:#fff;vertical-align:bottom;padding:2px 0;border-bottom:1px solid #ced4da}
th.rh span{display:block;writing-mode:vertical-rl;transform:rotate(180deg);max-height:150px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-weight:normal;font-size:11px;margin:0 auto}
th.rh.px span{color:#495057}
th.corner{left:0;z-index:3;text-align:left;padding:4px 8px;font-size:11px;color:#666;font-weight:normal}
tbody th{position:sticky;left:0;z-index:1;background:#fff;text-align:left;font-weight:normal;width:1%;min-width:16em;white-space:nowrap;padding:0 8px;font-size:13px;border-right:1px solid #ced4da}
tbody th .u{display:inline-block;vertical-align:middle;max-width:45vw;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
tbody th .f{color:#868e96;font-size:11px;margin-left:6px}
td.c{width:1.6em;min-width:1.6em;height:1.6em;padding:0;border:1px solid #fff;cursor:pointer;font:600 12px/1 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;text-align:center;vertical-align:middle}
td.c.none{background:repeating-linear-gradient(45deg,#fff,#fff 2px,#e9ecef 2px,#e9ecef 4px)}
td.c.dim{opacity:.15}
td.c.sel{outline:2px solid #000;outline-offset:-1px}
tbody tr:hover th{background:#e7f5ff}
#panel{position:fixed;right:12px;bottom:12px;width:420px;max-height:70vh;overflow:auto;background:#fff;border:1px solid #adb5bd;border-radius:6px;box-shadow:0 4px 16px rgba(0,0,0,.2);padding:10px 12px;z-index:10}
#panel h2{font-size:14px;margin:0 24px 6px 0;word-break:break-all}
#panel dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}
#panel dt{color:#666}
#panel dd{margin:0;word-break:break-word;white-space:pre-wrap}
#readiness{border-left:4px solid #2f9e44;background:#ebfbee;padding:4px 10px;margin:6px 0;max-height:30vh;overflow:auto}
#readiness.no{border-color:#e03131;background:#fff5f5}
#readiness h2{font-size:14px;margin:2px 0}
#readiness ul{margin:2px 0;padding-left:18px}
#readiness .k{color:#495057}
#panel button{position:absolute;top:6px;right:8px;border:0;background:none;font-size:18px;cursor:pointer}
)HTML";

  static constexpr std::string_view kBody = R"HTML(</style>
</head>
<body>
<header>
<h1>urlprobe report</h1>
<div class="meta" id="meta"></div>
<div class="totals" id="totals"></div>
<section id="readiness" hidden></section>
<div class="legend" id="legend" aria-label="outcomes (tick to show)"></div>
<div class="filters">
<label>Geography <select id="geo"></select></label>
<label>Route <select id="route"></select></label>
<label>Route name <input type="search" id="routeText" placeholder="contains..."></label>
<label>URL <input type="search" id="urlText" placeholder="contains..."></label>
<label><input type="checkbox" id="onlyMatching" checked> hide targets with no shown outcome</label>
<span id="status"></span>
</div>
</header>
<div id="errors" hidden></div>
<div id="wrap"><table id="grid"><thead></thead><tbody></tbody></table></div>
<div id="panel" hidden><button type="button" id="close" aria-label="close">&times;</button><h2 id="ptitle"></h2><dl id="pdl"></dl></div>
<script type="application/json" id="data">)HTML";

  static constexpr std::string_view kScript = R"HTML(</script>
<script>
(function () {
  'use strict';
  var errors = [];
  function fail(message) {
    errors.push(String(message));
    document.body.setAttribute('data-errors', String(errors.length));
    var box = document.getElementById('errors');
    box.hidden = false;
    box.textContent = 'Report script error: ' + errors.join('; ');
  }
  window.addEventListener('error', function (ev) { fail(ev.message || 'error'); });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // The readiness verdict and to-do list (the text format's Readiness section).
  function readinessPanel(R) {
    var box = document.getElementById('readiness');
    box.hidden = false;
    box.className = R.verdict === 'ready' ? 'yes' : 'no';
    var missing = R.required - R.reachable, methods = Object.keys(R.methods);
    box.appendChild(el('h2', null, !methods.length
        ? 'Readiness: no method route in these results; each proxy below'
        : 'Readiness: ' + R.reachable + ' of ' + R.required +
          ' required URLs reachable (' + R.geographies + '); ' +
          (missing ? missing + ' unreachable by every method' : 'ready')));
    function line(label, text) {
      var p = el('div'); p.appendChild(el('span', 'k', label + ': ')); p.appendChild(document.createTextNode(text));
      box.appendChild(p);
    }
    function list(label, items) {
      if (!items.length) return;
      box.appendChild(el('div', 'k', label));
      var ul = el('ul');
      items.forEach(function (t) { ul.appendChild(el('li', null, t)); });
      box.appendChild(ul);
    }
    var all = [], each = [];
    methods.forEach(function (m) {
      var x = R.methods[m], t = x.title || m;
      if (x.all) all.push(t);
      each.push(t + (x.configured ? ' ' + x.required_ok + '/' + R.required : ' not configured'));
    });
    if (methods.length) {
      line('Methods that reach every required URL', all.length ? all.join(', ') : 'none');
      line('Per method', each.join(' \u00b7 '));
    }
    // Entries of --proxies, each an egress route of its own (the text format's "Proxy" lines).
    var P = R.proxies || [];
    if (P.length) {
      var every = P.filter(function (p) { return p.all; }).map(function (p) { return p.label; });
      line('Proxies that reach every required URL', every.length ? every.join(', ') : 'none');
      list('Per proxy:', P.map(function (p) {
        var s = p.label + ': ' + p.required_ok + '/' + R.required + ' required URLs';
        if (!p.unreachable.length) return s;
        if (!p.required_ok) {
          var seen = [];
          p.unreachable.forEach(function (u) {
            u.outcomes.forEach(function (o) { if (seen.indexOf(o) < 0) seen.push(o); });
          });
          return s + ' (' + seen.join(', ') + ')';
        }
        return s + '; unreachable through it: ' + p.unreachable.map(function (u) {
          return u.url + ' (' + u.outcomes.join(', ') + ')';
        }).join(', ');
      }));
    }
    if (methods.length && R.by_geography && R.by_geography.length > 1)
      line('By geography', R.by_geography.map(function (g) {
        return (g.geography || '(none)') + ' ' + g.reachable + '/' + g.required;
      }).join(', '));
    R.todo.forEach(function (t) {
      var items = [];
      if (t.allow_anonymous.length) items.push('allow anonymous traffic for: ' + t.allow_anonymous.join(', '));
      if (t.exclude_inspection.length) items.push('exclude from HTTPS inspection: ' + t.exclude_inspection.join(', '));
      list(t.proxy ? 'To do on ' + t.proxy + ':' : 'To do on the direct path:', items);
    });
    list('Unreachable by every method:', R.unreachable);
    list('Direct traffic passes through a transparent proxy:', R.transparent_proxy.map(function (t) {
      return t.url + ' (' + t.evidence + ')';
    }));
    list('Notes:', R.notes);
    // DNS evidence, as the text format: names only when some answer was a CNAME.
    var names = R.allow_names || [];
    if (names.some(function (n) { return n.cname_of; }))
      list('Names to allow where a proxy or firewall allows by name:', names.map(function (n) {
        return n.cname_of ? n.name + ' (CNAME via ' + n.cname_of + ')' : n.name;
      }));
    list('Required URLs in neither MicrosoftDefenderForEndpoint nor OneDsCollector:',
      (R.outside_service_tags || []).map(function (u) {
        return u.url + ' ' + u.address + ' (' + (u.tags.length ? 'in ' + u.tags.join(', ') : 'in no service tag') + ')';
      }));
  }

  function main() {
    var D = JSON.parse(document.getElementById('data').textContent);
    var O = D.outcomes, routes = D.routes, targets = D.targets, cells = D.cells;
    var nc = routes.length, nr = targets.length, S = D.summary;
    var grid = new Int32Array(nr * nc).fill(-1);
    var perCol = [], i, j;
    for (j = 0; j < nc; j++) perCol.push({ ok: 0, n: 0 });
    for (i = 0; i < cells.length; i++) {
      var c = cells[i];
      grid[c.t * nc + c.r] = i;
      perCol[c.r].n++;
      if (c.o === 0) perCol[c.r].ok++;
    }

    // Summary.
    var meta = 'urlprobe ' + D.version + ' \u00b7 generated ' + D.generated + ' \u00b7 ' +
        nr + ' targets \u00d7 ' + nc + ' routes \u00b7 ' + (+S.seconds).toFixed(2) + ' s';
    if (S.interrupted) meta += ' \u00b7 interrupted (' + S.probes + ' of ' + S.planned + ')';
    if (S.input_errors) meta += ' \u00b7 ' + S.input_errors + ' input lines skipped';
    if (S.notes.length) meta += ' \u00b7 ' + S.notes.join('; ');
    document.getElementById('meta').textContent = meta;
    if (D.readiness) readinessPanel(D.readiness);
    var okCount = S.by_outcome[0];
    var totals = document.getElementById('totals');
    [['probes', S.probes, '#212529'], ['ok', okCount, O[0].color], ['failed', S.failures, '#e03131']]
      .forEach(function (t) {
        var s = el('span'); var b = el('b', null, t[1]); b.style.color = t[2];
        s.appendChild(b); s.appendChild(document.createTextNode(' ' + t[0])); totals.appendChild(s);
      });

    // Legend = outcome filter.
    var shown = O.map(function () { return true; });
    var legend = document.getElementById('legend');
    O.forEach(function (o, k) {
      if (!S.by_outcome[k]) return;
      var l = el('label'); l.title = o.failure ? 'a failure' : 'not a failure';
      var cb = el('input'); cb.type = 'checkbox'; cb.checked = true;
      cb.addEventListener('change', function () { shown[k] = cb.checked; render(); });
      var sw = el('span', 'sw o' + k, o.code);
      l.appendChild(cb); l.appendChild(sw); l.appendChild(document.createTextNode(o.name + ' ' + S.by_outcome[k]));
      legend.appendChild(l);
    });
    if (cells.length < nr * nc) {
      var l = el('label'); var sw = el('span', 'sw'); sw.style.background = '#e9ecef';
      l.appendChild(sw); l.appendChild(document.createTextNode('no result ' + (nr * nc - cells.length)));
      legend.appendChild(l);
    }

    // Geography and route selects.
    function option(select, value, text) { var o = el('option', null, text); o.value = value; select.appendChild(o); }
    var geo = document.getElementById('geo'), geos = {};
    option(geo, '*', 'all');
    targets.forEach(function (t) { geos[t.geo || ''] = (geos[t.geo || ''] || 0) + 1; });
    Object.keys(geos).sort().forEach(function (g) { option(geo, 'g:' + g, (g || '(none)') + ' (' + geos[g] + ')'); });
    var route = document.getElementById('route');
    option(route, '*', 'all (' + nc + ')');
    var nProxies = routes.filter(function (r) { return r.proxy; }).length;
    if (nProxies && nProxies < nc) { option(route, 'm', 'methods only'); option(route, 'p', 'proxies only'); }
    routes.forEach(function (r, k) { option(route, 'r:' + k, r.label); });
    var routeText = document.getElementById('routeText'), urlText = document.getElementById('urlText');
    var onlyMatching = document.getElementById('onlyMatching');
    [geo, route, onlyMatching].forEach(function (e) { e.addEventListener('change', render); });
    var timer = 0;
    [routeText, urlText].forEach(function (e) {
      e.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(render, 150); });
    });

    function cellTitle(c) {
      var r = routes[c.r], o = O[c.o], s = r.label + ': ' + o.name;
      if (c.h) s += ' (HTTP ' + c.h + ')'; else if (c.p) s += ' (proxy ' + c.p + ')';
      if (c.d) s += ' \u2014 ' + c.d;
      if (c.i) s += '\nTLS issuer: ' + c.i;
      if (c.m) s += '\ntotal ' + c.m[5] + ' ms';
      return targets[c.t].url + '\n' + s;
    }

    var visCols = [], visRows = [];
    var thead = document.querySelector('#grid thead'), table = document.getElementById('grid');
    function render() {
      var rv = route.value, rt = routeText.value.toLowerCase(), ut = urlText.value.toLowerCase();
      visCols = [];
      for (var j = 0; j < nc; j++) {
        var r = routes[j];
        if (rv === 'm' && r.proxy) continue;
        if (rv === 'p' && !r.proxy) continue;
        if (rv.charAt(0) === 'r' && rv !== 'r:' + j) continue;
        if (rt && r.label.toLowerCase().indexOf(rt) < 0) continue;
        visCols.push(j);
      }
      visRows = [];
      var gv = geo.value;
      for (var i = 0; i < nr; i++) {
        var t = targets[i];
        if (gv !== '*' && gv !== 'g:' + (t.geo || '')) continue;
        if (ut && t.url.toLowerCase().indexOf(ut) < 0) continue;
        if (onlyMatching.checked) {
          var any = false;
          for (var k = 0; k < visCols.length && !any; k++) {
            var x = grid[i * nc + visCols[k]];
            any = x >= 0 && shown[cells[x].o];
          }
          if (!any) continue;
        }
        visRows.push(i);
      }
      var hr = el('tr'), corner = el('th', 'corner', visRows.length + ' \u00d7 ' + visCols.length);
      hr.appendChild(corner);
      visCols.forEach(function (j) {
        var r = routes[j], th = el('th', r.proxy ? 'rh px' : 'rh');
        th.appendChild(el('span', null, r.label));
        th.title = r.label + ': ok ' + perCol[j].ok + ' of ' + perCol[j].n;
        hr.appendChild(th);
      });
      thead.textContent = '';
      thead.appendChild(hr);
      var body = el('tbody'), ncells = 0;
      visRows.forEach(function (i) {
        var t = targets[i], tr = el('tr'), th = el('th');
        tr.setAttribute('data-row', i);
        th.appendChild(el('span', 'u', t.url));
        var facts = [t.geo, t.cat, t.svc].filter(function (f) { return f; }).join(' \u00b7 ');
        if (facts) th.appendChild(el('span', 'f', facts));
        th.title = t.url + (facts ? '\n' + facts : '');
        tr.appendChild(th);
        for (var k = 0; k < visCols.length; k++) {
          var x = grid[i * nc + visCols[k]], td = document.createElement('td');
          if (x < 0) { td.className = 'c none'; td.title = routes[visCols[k]].label + ': no result'; }
          else {
            var c = cells[x];
            td.className = shown[c.o] ? 'c o' + c.o : 'c o' + c.o + ' dim';
            td.textContent = O[c.o].code;
            td.title = cellTitle(c);
          }
          tr.appendChild(td);
          ncells++;
        }
        body.appendChild(tr);
      });
      table.replaceChild(body, table.tBodies[0]);
      document.body.setAttribute('data-cells', String(ncells));
      document.getElementById('status').textContent = 'showing ' + visRows.length + ' of ' + nr +
          ' targets, ' + visCols.length + ' of ' + nc + ' routes';
    }

    var panel = document.getElementById('panel'), selected = null;
    document.getElementById('close').addEventListener('click', function () {
      panel.hidden = true; if (selected) selected.classList.remove('sel');
    });
    function ms(v) { return v === null || v === undefined ? '\u2013' : String(v); }
    table.addEventListener('click', function (ev) {
      var td = ev.target.closest ? ev.target.closest('td') : null;
      if (!td || !td.parentNode.hasAttribute('data-row')) return;
      var i = +td.parentNode.getAttribute('data-row'), j = visCols[td.cellIndex - 1];
      var x = grid[i * nc + j], t = targets[i];
      if (selected) selected.classList.remove('sel');
      selected = td; td.classList.add('sel');
      document.getElementById('ptitle').textContent = t.url;
      var dl = document.getElementById('pdl'); dl.textContent = '';
      function row(k, v) { if (v === undefined || v === null || v === '') return; dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); }
      row('route', routes[j].label);
      row('geography', t.geo); row('category', t.cat); row('service', t.svc);
      if (x < 0) { row('outcome', 'no result'); panel.hidden = false; return; }
      var c = cells[x], o = O[c.o];
      var dd = el('dd'), sw = el('span', 'sw o' + c.o, o.code);
      dd.appendChild(sw); dd.appendChild(document.createTextNode(' ' + o.name));
      dl.appendChild(el('dt', null, 'outcome')); dl.appendChild(dd);
      row('detail', c.d); row('HTTP status', c.h); row('proxy status', c.p);
      row('proxy', c.x); row('PAC answer', c.pac); row('bypassed by', c.by); row('address', c.a);
      row('DNS', c.dn);
      row('TLS issuer', c.i); row('TLS subject', c.s); row('TLS version', c.v); row('TLS error', c.te);
      if (c.n) row('not after', c.n + (c.l !== undefined ? ' (' + c.l + ' days left)' : ''));
      if (c.m) row('ms', 'dns ' + ms(c.m[0]) + ' \u00b7 connect ' + ms(c.m[1]) + ' \u00b7 tunnel ' + ms(c.m[2]) +
          ' \u00b7 tls ' + ms(c.m[3]) + ' \u00b7 ttfb ' + ms(c.m[4]) + ' \u00b7 total ' + ms(c.m[5]));
      if (c.w) row('warnings', c.w.join('\n'));
      panel.hidden = false;
    });

    var header = document.querySelector('header');
    function fit() { document.getElementById('wrap').style.setProperty('--top', header.offsetHeight + 'px'); }
    window.addEventListener('resize', fit);
    render();
    fit();
  }

  var t0 = performance.now();
  try {
    main();
    document.body.setAttribute('data-render-ms', String(Math.round(performance.now() - t0)));
    if (!errors.length) document.body.setAttribute('data-errors', '0');
  } catch (e) {
    fail(e && e.stack ? e.stack : e);
  }
})();
</script>
</body>
</html>
)HTML";

  std::FILE* out_;
  std::size_t routes_;
  std::chrono::system_clock::time_point started_;
  std::vector<Column> columns_;
  const Kept& kept_;  // the readiness panel's
  std::map<std::string, std::uint64_t> url_keys_;
  std::map<std::uint64_t, Target> targets_;
  std::vector<Cell> cells_;
};

}  // namespace

std::unique_ptr<ResultWriter> make_html_writer(std::FILE* out,
                                               std::span<const probe::RouteColumn> routes,
                                               const Kept& kept) {
  return std::make_unique<HtmlWriter>(out, routes, kept);
}

}  // namespace urlprobe::report::detail
