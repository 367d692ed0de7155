"""tools/check_docs.py finds broken links and anchors, pages missing from the navigation and empty API pages
(the browser half runs in `make test` on the real site)."""
from conftest import load_tool


def write(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<html><body>{body}</body></html>')


def test_static_checks_find_each_kind_of_problem(tmp_path):
    check = load_tool('check_docs')
    write(tmp_path / 'index.html', '<a href="a.html">a</a> <a href="api/x.html">x</a> <a href="https://x.org">ext</a>')
    write(tmp_path / 'a.html', '<h1 id="top">A</h1><a href="index.html">home</a> <a href="a.html#top">self</a>')
    write(tmp_path / 'api/x.html', '<dl class="py class"><dt class="sig sig-object py" id="m.C">C</dt></dl>')
    assert check.static_checks(str(tmp_path)) == []
    write(tmp_path / 'a.html', '<a href="gone.html">x</a> <a href="index.html#nowhere">y</a>')
    write(tmp_path / 'orphan.html', 'not linked from the index')
    write(tmp_path / 'api/x.html', 'nothing documented')
    problems = check.static_checks(str(tmp_path))
    assert 'a.html: broken link gone.html' in problems
    assert 'a.html: link index.html#nowhere names no anchor of index.html' in problems
    assert 'orphan.html: not in the navigation' in problems and 'api/x.html: the API page documents nothing' in problems
