"""Text contrast of the built site, measured in a real Chromium (WCAG 2.x, level AA).

For every visible element that directly holds non-whitespace text (and every
text field's value or placeholder), the audit takes the element's computed text
colour and its effective background: the background colours of the element and
its ancestors up to the first opaque one, composited bottom-up over the white
canvas (semi-transparent colours and ``opacity`` included). Hidden text
(display/visibility, zero size, clipped screen-reader text, off-screen skip
links) and disabled controls are left out; folded ``<details>`` are opened first.

An element with a background image or gradient behind its text (the home
page's hero) cannot be measured from colours: the colour audit skips it, and it
is then measured from pixels instead, against the worst pixel behind its text
in a screenshot taken with all text made transparent.

Thresholds: 4.5:1, or 3:1 for large text (at least 24px, or at least 18.66px
and bold). The site has a single light palette, so there is no dark scheme to
check. Hover and focus states are not audited.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
# Between the two: Material's tablet layout, and the width at which the home
# page's glow sits behind the hero's lead text.
TABLET = {"width": 900, "height": 1000}

PAGES = {
    "home": "",
    "study": "studies/{acc}/",
    "studies": "studies/",
    "facet": "browse/organism/",
    "search": "search/",
    "guide": "guides/submitting/",
    "reference": "reference/metadata/",
}

# The colour maths and the audit, as one JavaScript expression giving an object
# of functions; every page.evaluate() below defines it afresh.
CONTRAST_JS = r"""
(() => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});

  // Any CSS colour -> [r, g, b, a] with r, g, b in 0..255 and a in 0..1.
  function parse(css) {
    const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+)(%?))?\s*\)$/.exec(css.trim());
    if (m) {
      let a = m[4] === undefined ? 1 : parseFloat(m[4]);
      if (m[5] === '%') a /= 100;
      return [parseFloat(m[1]), parseFloat(m[2]), parseFloat(m[3]), a];
    }
    if (css === 'transparent') return [0, 0, 0, 0];
    // Other syntaxes (color(), oklch(), hex...): let the canvas convert to sRGB.
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = '#000';
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  }

  // Source-over compositing of a colour onto an opaque backdrop.
  function over(top, back) {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + back[i] * (1 - a)).concat([1]);
  }

  function luminance(c) {
    const lin = c.slice(0, 3).map(v => {
      const s = v / 255;
      return s <= 0.04045 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  }

  function ratio(fg, bg) {
    fg = typeof fg === 'string' ? parse(fg) : fg;
    bg = typeof bg === 'string' ? parse(bg) : bg;
    bg = over(bg, [255, 255, 255, 1]);
    fg = over(fg, bg);
    const [l1, l2] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    return (l1 + 0.05) / (l2 + 0.05);
  }

  function hex(c) {
    return '#' + c.slice(0, 3).map(v => Math.round(v).toString(16).padStart(2, '0')).join('');
  }

  function path(el) {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && parts.length < 4; e = e.parentElement) {
      let p = e.tagName.toLowerCase();
      if (e.id) { parts.unshift(p + '#' + e.id); break; }
      const cls = Array.from(e.classList).slice(0, 2);
      if (cls.length) p += '.' + cls.join('.');
      parts.unshift(p);
    }
    return parts.join(' > ');
  }

  // The opaque colour behind el's text, the text colour's alpha factor from
  // opacity, or null when a background image lies behind the text.
  function backdrop(el) {
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.push(e);
    // Opacity of e applies to e and everything inside it.
    const opacityFrom = new Map();
    let op = 1;
    for (let i = chain.length - 1; i >= 0; i--) {
      op *= parseFloat(getComputedStyle(chain[i]).opacity);
      opacityFrom.set(chain[i], op);
    }
    const layers = [];
    for (const e of chain) {
      const cs = getComputedStyle(e);
      if (cs.backgroundImage && cs.backgroundImage !== 'none') return null;
      const c = parse(cs.backgroundColor);
      if (c[3] === 0) continue;
      const a = c[3] * opacityFrom.get(e);
      layers.push([c[0], c[1], c[2], a]);
      if (a >= 1) break;
    }
    let bg = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return {bg, textAlpha: opacityFrom.get(el)};
  }

  function shown(el, rects) {
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
    const doc = document.documentElement;
    const width = Math.max(doc.scrollWidth, innerWidth), height = Math.max(doc.scrollHeight, innerHeight);
    return Array.from(rects).some(r => {
      const left = r.left + scrollX, top = r.top + scrollY;
      return r.width > 1 && r.height > 1 && left + r.width > 0 && top + r.height > 0 && left < width && top < height;
    });
  }

  function clipped(el) {
    // Visually hidden text (the sr-only pattern: clipped to nothing).
    for (let e = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.clip === 'rect(0px, 0px, 0px, 0px)' || cs.clipPath === 'inset(50%)') return true;
      const r = e.getBoundingClientRect();
      if (cs.overflow !== 'visible' && (r.width <= 1 || r.height <= 1)) return true;
    }
    return false;
  }

  function check(el, text, colour, kind, out, range) {
    if (el.closest(':disabled, [aria-disabled=true]')) return;
    const back = backdrop(el);
    const cs = getComputedStyle(el);
    const fgRaw = parse(colour);
    if (!back) {
      const rects = Array.from(range ? range.getClientRects() : el.getClientRects())
        .map(r => ({x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}));
      out.skipped.push({path: path(el), kind, text: text.replace(/\s+/g, ' ').trim().slice(0, 60), colour,
                        fg: fgRaw, size: parseFloat(cs.fontSize), weight: parseInt(cs.fontWeight, 10) || 400,
                        rects});
      return;
    }
    const fg = over([fgRaw[0], fgRaw[1], fgRaw[2], fgRaw[3] * back.textAlpha], back.bg);
    const size = parseFloat(cs.fontSize), weight = parseInt(cs.fontWeight, 10) || 400;
    const large = size >= 24 || (size >= 18.66 && weight >= 700);
    const need = large ? 3 : 4.5;
    const r = ratio(fg, back.bg);
    out.checked += 1;
    if (r < need) {
      out.failures.push({path: path(el), kind, text: text.replace(/\s+/g, ' ').trim().slice(0, 60),
                         ratio: Math.round(r * 100) / 100, need, fg: hex(fg), colour, bg: hex(back.bg),
                         size: Math.round(size * 100) / 100, weight});
    }
  }

  function audit(root) {
    const out = {failures: [], skipped: [], unknown: [], checked: 0};
    const walker = document.createTreeWalker(root || document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || seen.has(el) || !node.data.trim()) continue;
      if (el.closest('script, style, noscript, template, svg, title')) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      if (!shown(el, range.getClientRects()) || clipped(el)) continue;
      seen.add(el);
      check(el, node.data, getComputedStyle(el).color, 'text', out, range);
    }
    for (const el of (root || document).querySelectorAll('input, textarea')) {
      if (!['text', 'search', 'email', 'url', 'number', 'tel', 'textarea'].includes(el.type)) continue;
      if (!shown(el, el.getClientRects()) || clipped(el)) continue;
      if (el.value.trim()) check(el, el.value, getComputedStyle(el).color, 'value', out);
      else if (el.placeholder.trim()) {
        const colour = getComputedStyle(el, '::placeholder').color;
        if (colour) check(el, el.placeholder, colour, 'placeholder', out);
        else out.unknown.push(path(el) + ': placeholder colour unknown');
      }
    }
    return out;
  }

  return {parse, ratio, audit};
})()
"""


def _audit(page, root_selector: str | None = None) -> dict:
    return page.evaluate(
        f"sel => {{ const C = {CONTRAST_JS}; return C.audit(sel ? document.querySelector(sel) : null); }}",
        root_selector,
    )


def _ratio(page, fg: str, bg: str) -> float:
    return page.evaluate(f"([fg, bg]) => {{ const C = {CONTRAST_JS}; return C.ratio(fg, bg); }}", [fg, bg])


def _luminance(rgb: np.ndarray) -> np.ndarray:
    s = rgb / 255.0
    lin = np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(float(v)):02x}" for v in rgb)


def _over_images(page, skipped: list[dict]) -> list[dict]:
    """Text over a background image, measured from pixels: the page is shot with
    all text made transparent, and each text box's worst pixel is its backdrop."""
    if not skipped:
        return []
    page.add_style_tag(
        content="*, *::before, *::after, ::placeholder { color: transparent !important;"
        " -webkit-text-fill-color: transparent !important; text-shadow: none !important;"
        " text-decoration-color: transparent !important; caret-color: transparent !important; }"
    )
    page.evaluate("() => window.scrollTo(0, 0)")
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True, animations="disabled"))).convert("RGB")
    pixels = np.asarray(shot, dtype=float)
    scale = shot.width / page.evaluate("document.documentElement.scrollWidth")
    failures = []
    for item in skipped:
        r, g, b, a = item["fg"]
        worst, behind = None, None
        for rect in item["rects"]:
            # One pixel in from each edge: anti-aliased box edges are not backdrop.
            x0, y0 = int(rect["x"] * scale) + 1, int(rect["y"] * scale) + 1
            x1, y1 = int((rect["x"] + rect["width"]) * scale) - 1, int((rect["y"] + rect["height"]) * scale) - 1
            box = pixels[y0:y1, x0:x1].reshape(-1, 3)
            if not len(box):
                continue
            fg = np.array([r, g, b]) * a + box * (1 - a)
            lf, lb = _luminance(fg), _luminance(box)
            ratios = (np.maximum(lf, lb) + 0.05) / (np.minimum(lf, lb) + 0.05)
            if worst is None or ratios.min() < worst:
                worst, behind = float(ratios.min()), box[int(ratios.argmin())]
        large = item["size"] >= 24 or (item["size"] >= 18.66 and item["weight"] >= 700)
        need = 3 if large else 4.5
        if worst is not None and worst < need:
            failures.append(
                {
                    **item,
                    "ratio": round(worst, 2),
                    "need": need,
                    "fg": _hex([r, g, b]),
                    "bg": _hex(behind) + " (worst pixel of an image)",
                }
            )
    return failures


def _report(failures: list[dict]) -> str:
    return "\n".join(
        f"  {f['ratio']:.2f} < {f['need']} {f['fg']} on {f['bg']} ({f['colour']}), "
        f"{f['size']}px/{f['weight']} {f['kind']} at {f['path']}: {f['text']!r}"
        for f in failures
    )


@pytest.fixture(scope="module")
def contexts(chromium):
    made = {
        "desktop": chromium.new_context(viewport=DESKTOP, color_scheme="light"),
        "tablet": chromium.new_context(viewport=TABLET, color_scheme="light"),
        "phone": chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, color_scheme="light"),
    }
    yield made
    for context in made.values():
        context.close()


@pytest.fixture
def desktop_page(contexts):
    page = contexts["desktop"].new_page()
    yield page
    page.close()


def _open(page, url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if name == "search":
        page.wait_for_selector("#oia-search[data-ready=true]", timeout=10_000)
        page.wait_for_selector(".oia-result", timeout=10_000)
    # Folded content ("Get this image", more images, the search filters on a
    # phone) is measured unfolded: opening only adds text, the summaries stay.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


def _measure(page, where: str) -> None:
    result = _audit(page)
    assert result["checked"] > 20, f"only {result['checked']} texts measured on {where}: is the page empty?"
    failures = result["failures"] + _over_images(page, result["skipped"])
    assert not failures, (
        f"{len(failures)} text(s) below WCAG AA contrast on {where} "
        f"({result['checked']} measured, {len(result['skipped'])} over images):\n" + _report(failures)
    )


@pytest.mark.parametrize("width", ["desktop", "tablet", "phone"])
@pytest.mark.parametrize("name", list(PAGES))
def test_text_contrast(contexts, site_url, built_site, name, width):
    page = contexts[width].new_page()
    try:
        _open(page, site_url + PAGES[name].format(acc=built_site.published[0]), name)
        _measure(page, f"{name} ({width})")
    finally:
        page.close()


def test_phone_navigation_drawer(contexts, site_url):
    page = contexts["phone"].new_page()
    try:
        _open(page, site_url + "guides/submitting/", "guide")
        page.click('label.md-header__button[for="__drawer"]')
        page.wait_for_function("() => document.querySelector('.md-sidebar--primary').getBoundingClientRect().left >= 0")
        page.wait_for_timeout(400)  # the drawer's slide-in transition
        _measure(page, "the guide with the navigation drawer open (phone)")
    finally:
        page.close()


def test_search_with_a_filter(contexts, site_url):
    """A filter greys out the values that no longer match (li.oia-zero)."""
    page = contexts["desktop"].new_page()
    try:
        _open(page, site_url + "search/", "search")
        page.query_selector_all('fieldset[data-facet="organism"] input[type=checkbox]')[-1].check()
        page.wait_for_function("() => new URLSearchParams(location.search).has('organism')")
        page.wait_for_selector("#oia-search[data-ready=true]")
        assert page.query_selector(".oia-facet li.oia-zero"), "no value greyed out by the filter"
        _measure(page, "search with an organism filter (desktop)")
    finally:
        page.close()


# ---------------------------------------------------------------- the audit itself


def test_ratio_function(desktop_page):
    page = desktop_page
    page.set_content("<p>x</p>")
    assert _ratio(page, "rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)
    assert _ratio(page, "#777", "#fff") == pytest.approx(4.48, abs=0.01)
    assert _ratio(page, "rgb(255, 255, 255)", "rgb(119, 119, 119)") == pytest.approx(4.48, abs=0.01)
    # Half-transparent black text on white is a mid grey.
    assert _ratio(page, "rgba(0, 0, 0, 0.5)", "#fff") == pytest.approx(_ratio(page, "#808080", "#fff"), abs=0.05)
    # A colour syntax Chromium keeps as written is converted through the canvas.
    assert _ratio(page, "color(srgb 0 0 0)", "color(srgb 1 1 1)") == pytest.approx(21)


def test_audit_reports_injected_low_contrast(desktop_page, site_url):
    page = desktop_page
    page.goto(site_url)
    page.evaluate("""() => {
      const box = document.createElement('div');
      box.id = 'probe';
      box.innerHTML = `
        <p id="grey" style="color:#999;background:#fff">Low contrast probe</p>
        <p id="large-ok" style="color:#777;font-size:24px">Large text at 4.48 passes</p>
        <p id="small-777" style="color:#777;font-size:16px">Small text at 4.48 fails</p>
        <p id="bold-ok" style="color:#777;font-size:19px;font-weight:700">Large bold text passes</p>
        <div style="background:rgba(0,0,0,0.5)">
          <span id="on-translucent" style="color:#444">Dark on translucent black</span></div>
        <div style="opacity:0.3"><span id="faded" style="color:#000">Faded by opacity</span></div>
        <div style="background-image:linear-gradient(#000,#111)">
          <span id="on-gradient" style="color:#000">On a gradient</span></div>
        <div style="background-image:linear-gradient(#000,#111)">
          <span id="white-on-gradient" style="color:#fff">White on a gradient</span></div>
        <p id="hidden" style="display:none;color:#eee">Hidden text</p>
        <p id="invisible" style="visibility:hidden;color:#eee">Invisible text</p>
        <p id="offscreen" style="position:absolute;left:-9999px;color:#eee">Off-screen skip link</p>
        <button id="disabled" disabled style="color:#eee;background:#fff">Disabled</button>
        <input id="ph" placeholder="Pale placeholder" style="color:#000;background:#fff">
        <style>#ph::placeholder { color: #bbb; }</style>
        <p id="fine" style="color:#222">Readable text</p>`;
      document.querySelector('.md-content').prepend(box);
    }""")
    result = _audit(page, "#probe")
    failing = {f["path"].split(" > ")[-1]: f for f in result["failures"]}
    assert set(failing) == {"p#grey", "p#small-777", "span#on-translucent", "span#faded", "input#ph"}, _report(
        result["failures"]
    )
    assert failing["p#grey"]["ratio"] == pytest.approx(2.85, abs=0.01)
    assert failing["p#grey"]["fg"] == "#999999" and failing["p#grey"]["bg"] == "#ffffff"
    assert failing["p#small-777"]["ratio"] == pytest.approx(4.48, abs=0.01)
    assert failing["span#on-translucent"]["bg"] == "#808080"
    assert failing["input#ph"]["kind"] == "placeholder"
    assert [s["text"] for s in result["skipped"]] == ["On a gradient", "White on a gradient"]
    # Text over a background image is measured from the pixels behind it.
    over = _over_images(page, result["skipped"])
    assert [f["text"] for f in over] == ["On a gradient"], _report(over)
    assert over[0]["ratio"] < 1.2 and over[0]["fg"] == "#000000"
    # The failure message names the offender.
    assert "Low contrast probe" in _report(result["failures"])
