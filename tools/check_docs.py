"""Check the built documentation site (after `sphinx -b html docs docs/_build/html`), as `make test` does.

    python tools/check_docs.py docs/_build/html

Without a browser (Python over the HTML files):
- every internal link and anchor resolves;
- every page is in the navigation (the sidebar of the index page);
- every API page documents at least one object.

In headless Chromium (Debian's `chromium`; installed with apt-get when missing and possible, else these checks are
skipped with a message), on the key pages at 1280 x 900:
- the main content has no horizontal scrollbar;
- no raw TeX is visible where maths should render, and MathJax rendered the page's maths (it is bundled: no
  network);
- a screenshot of each page is kept under docs/_build/screenshots/.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from urllib.parse import unquote, urldefrag

KEY_PAGES = ('index.html', 'install.html', 'quickstart.html', 'configs.html', 'evaluation.html', 'results.html',
             'faq.html', 'datasets/index.html', 'methods/maskdiffusion.html', 'methods/emerdiff.html',
             'methods/diffsegmenter.html', 'methods/langseg.html', 'api/segmentors.html')
BROWSERS = ('chromium', 'chromium-browser', 'google-chrome')


class Page(HTMLParser):
    """The links, element ids and main-content text of one HTML page."""

    def __init__(self):
        super().__init__()
        self.links, self.ids, self.signatures = [], set(), 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get('id'):
            self.ids.add(attrs['id'])
        if tag == 'a' and attrs.get('href'):
            self.links.append(attrs['href'])
        if 'sig-object' in (attrs.get('class') or ''):
            self.signatures += 1


def parse(path: str) -> Page:
    page = Page()
    with open(path, encoding='utf-8') as f:
        page.feed(f.read())
    return page


def pages_of(site: str) -> list[str]:
    skip = ('_static', '_sources', '_modules', '_images', 'screenshots')
    return sorted(osp.relpath(osp.join(d, f), site) for d, _, fs in os.walk(site) for f in fs
                  if f.endswith('.html') and not osp.relpath(d, site).startswith(skip)
                  and f not in ('search.html', 'genindex.html', 'py-modindex.html'))


def static_checks(site: str) -> list[str]:
    """Broken internal links and anchors, pages missing from the navigation, empty API pages."""
    problems, parsed = [], {p: parse(osp.join(site, p)) for p in pages_of(site)}
    for name, page in parsed.items():
        for href in page.links:
            if re.match(r'^[a-z]+:', href) or href.startswith('//'):
                continue  # external (http:, mailto:)
            target, anchor = urldefrag(href)
            resolved = osp.normpath(osp.join(osp.dirname(name), unquote(target))) if target else name
            if resolved.endswith('/') or osp.isdir(osp.join(site, resolved)):
                resolved = osp.join(resolved, 'index.html')
            if not osp.exists(osp.join(site, resolved)):
                problems.append(f'{name}: broken link {href}')
            elif anchor and resolved in parsed and anchor not in parsed[resolved].ids:
                problems.append(f'{name}: link {href} names no anchor of {resolved}')
    navigation = {osp.normpath(urldefrag(h)[0]) for h in parsed['index.html'].links
                  if not re.match(r'^[a-z]+:', h)}
    for name in parsed:
        if name != 'index.html' and name not in navigation:
            problems.append(f'{name}: not in the navigation')
    for name, page in parsed.items():
        if name.startswith('api/') and page.signatures == 0:
            problems.append(f'{name}: the API page documents nothing')
    return problems


PROBE = """<!DOCTYPE html><html><body>
<iframe id="f" src="{src}" width="1280" height="900"></iframe><pre id="out">pending</pre>
<script>
const frame = document.getElementById('f');
frame.onload = async () => {{
  const w = frame.contentWindow, d = frame.contentDocument;
  if (w.MathJax && w.MathJax.startup && w.MathJax.startup.promise) {{ await w.MathJax.startup.promise; }}
  const main = d.querySelector('article') || d.body;
  const overflow = Array.from(main.querySelectorAll('*')).filter(e => {{
    if (e.closest('table, pre, .highlight')) return false;  // these scroll inside themselves
    return e.getBoundingClientRect().right > d.documentElement.clientWidth + 1; }}).length;
  const text = main.innerText;
  const math = d.querySelectorAll('.math').length;
  document.getElementById('out').textContent = JSON.stringify({{
    horizontal_scroll: d.documentElement.scrollWidth > d.documentElement.clientWidth,
    overflowing: overflow, raw_tex: /\\\\\\(|\\\\\\[|\\$\\$/.test(text),
    math: math, rendered: d.querySelectorAll('mjx-container').length, mathjax: !!w.MathJax }});
}};
</script></body></html>"""


def find_browser(install: bool) -> str | None:
    for name in BROWSERS:
        if shutil.which(name):
            return shutil.which(name)
    if install and shutil.which('apt-get') and hasattr(os, 'geteuid') and os.geteuid() == 0:
        print('check_docs: installing chromium with apt-get (about a minute) ...', flush=True)
        subprocess.run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'chromium'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
        return shutil.which('chromium')
    return None


def browser_checks(site: str, browser: str, shots: str) -> list[str]:
    problems = []
    os.makedirs(shots, exist_ok=True)
    common = [browser, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run',
              '--allow-file-access-from-files', '--disable-web-security', '--window-size=1280,900']
    with tempfile.TemporaryDirectory() as tmp:
        for page in KEY_PAGES:
            path = osp.abspath(osp.join(site, page))
            if not osp.exists(path):
                problems.append(f'{page}: missing')
                continue
            probe = osp.join(tmp, 'probe.html')
            with open(probe, 'w', encoding='utf-8') as f:
                f.write(PROBE.format(src=html.escape('file://' + path)))
            out = subprocess.run(common + ['--virtual-time-budget=15000', '--dump-dom', 'file://' + probe],
                                 capture_output=True, text=True, timeout=180).stdout
            found = re.search(r'<pre id="out">(.*?)</pre>', out, re.S)
            try:
                result = json.loads(html.unescape(found.group(1))) if found else None
            except json.JSONDecodeError:
                result = None
            if result is None:
                problems.append(f'{page}: the browser probe gave no result')
                continue
            if result['horizontal_scroll'] or result['overflowing']:
                problems.append(f'{page}: content wider than 1280 px ({result["overflowing"]} elements overflow)')
            if result['raw_tex']:
                problems.append(f'{page}: raw TeX is visible')
            if result['math'] and not result['rendered']:
                problems.append(f'{page}: {result["math"]} maths elements but MathJax rendered none '
                                f'(MathJax loaded: {result["mathjax"]})')
            shot = osp.join(shots, page.replace('/', '_').replace('.html', '.png'))
            subprocess.run(common + ['--virtual-time-budget=15000', f'--screenshot={shot}', 'file://' + path],
                           capture_output=True, timeout=180)
            print(f'check_docs: {page}: {"ok" if not any(p.startswith(page) for p in problems) else "PROBLEM"} '
                  f'(maths {result["rendered"]}/{result["math"]})')
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('site', nargs='?', default='docs/_build/html', help='the built HTML site')
    parser.add_argument('--no-install', action='store_true', help='never install chromium')
    parser.add_argument('--screenshots', default=None, help='default: <site>/../screenshots')
    args = parser.parse_args(argv)
    if not osp.isfile(osp.join(args.site, 'index.html')):
        parser.error(f'{args.site} holds no built site (index.html): build it first with sphinx')
    problems = static_checks(args.site)
    browser = find_browser(not args.no_install)
    if browser is None:
        print('check_docs: SKIPPED the browser checks: no chromium, and it cannot be installed here '
              '(apt-get as root). Layout and maths rendering are unchecked.')
    else:
        problems += browser_checks(args.site, browser,
                                   args.screenshots or osp.join(osp.dirname(osp.abspath(args.site)), 'screenshots'))
    for problem in problems:
        print('check_docs:', problem)
    print(f'check_docs: {len(pages_of(args.site))} pages, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
