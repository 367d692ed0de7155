"""The web app (demo/app.py) in a real browser: headless Chromium (Debian's, as tools/check_docs.py finds or installs
it) driven by Playwright on 127.0.0.1 uploads a shapes image, runs the default method with the default classes, and
the label map it offers for download scores above a floor against the image's ground truth; a bad input shows its
message in the page. The server is stopped at the end. Plus the app logic's errors without a browser."""
import os
import os.path as osp
import socket
import subprocess
import sys
import time
import urllib.request

import cv2
import numpy as np
import pytest
from conftest import REPO, load_tool

from mmseg_trainfree.datasets import generate_shapes_dataset
from mmseg_trainfree.webapp import AppError, Segmenter, parse_classes

FLOOR = 60.0  # per-image mIoU (%) of the default method (MaskCLIP, tiny CLIP) on the first held-out image: 84.95


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def image_miou(pred: np.ndarray, truth: np.ndarray) -> float:
    ious = [((pred == c) & (truth == c)).sum() / ((pred == c) | (truth == c)).sum()
            for c in np.union1d(np.unique(pred), np.unique(truth))]
    return 100 * float(np.mean(ious))


@pytest.fixture(scope='module')
def shapes_image(tmp_path_factory):
    root = generate_shapes_dataset(str(tmp_path_factory.mktemp('app_shapes')), num_images=1, size=(128, 128),
                                   seed=1000)
    [name] = os.listdir(osp.join(root, 'img_dir', 'val'))
    truth = cv2.imread(osp.join(root, 'ann_dir', 'val', name), cv2.IMREAD_UNCHANGED)
    return osp.join(root, 'img_dir', 'val', name), truth


@pytest.fixture(scope='module')
def server():
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False')
    proc = subprocess.Popen([sys.executable, osp.join(REPO, 'demo', 'app.py'), '--port', str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f'the app did not start: {proc.stdout.read() if proc.poll() is not None else ""}')
                time.sleep(1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope='module')
def browser():
    browser_path = load_tool('check_docs').find_browser(install=True)
    if browser_path is None:
        pytest.skip('no Chromium and it cannot be installed here (apt-get as root): the browser test cannot run')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=browser_path, args=['--no-sandbox'])
        yield b
        b.close()


def run_in_page(page, image: str, classes: str) -> str:
    if image:
        page.locator('#image input[type=file]').set_input_files(image)
        page.wait_for_selector('#image img', timeout=30000)
    page.locator('#classes textarea').fill(classes)
    before = page.locator('#status').inner_text()
    page.locator('#run').click()
    page.wait_for_function("([b]) => { const s = document.querySelector('#status'); "  # not the progress timer
                           "return s && s.innerText.trim() !== b.trim() && /^(Done|Error)/.test(s.innerText.trim()); }",
                           arg=[before], timeout=120000)
    return page.locator('#status').inner_text().strip()


def test_the_app_segments_an_uploaded_image_in_a_browser(server, browser, shapes_image, tmp_path):
    path, truth = shapes_image
    page = browser.new_page(viewport=dict(width=1280, height=900))
    start = time.perf_counter()
    page.goto(server, timeout=60000)
    status = run_in_page(page, path, 'background, disc, square, triangle')
    assert status.startswith('Done') and 'MaskCLIP' in status and ' s with ' in status, status
    legend = page.locator('#legend').inner_text()
    assert '%' in legend and 'background' in legend
    href = page.locator('#labels a').first.get_attribute('href')
    body = page.request.get(href if href.startswith('http') else server + href).body()
    pred = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)
    assert pred.shape == truth.shape
    miou = image_miou(pred, truth)
    assert miou >= FLOOR, f'{miou:.2f} per-image mIoU from the label map the page offers, floor {FLOOR}'
    page.screenshot(path=str(tmp_path / 'app.png'), full_page=True)
    # bad input: no class names -> the message in the page, no traceback
    status = run_in_page(page, None, '  ,  ')
    assert 'Error' in status and 'at least one class name' in status, status
    assert 'Traceback' not in page.content()
    print(f'browser test: {time.perf_counter() - start:.1f} s, per-image mIoU {miou:.2f}')
    page.close()


def test_app_errors_are_messages(tmp_path):
    segmenter = Segmenter(root=REPO, out_dir=str(tmp_path))
    image = np.zeros((64, 64, 3), np.uint8)
    config = 'configs/maskclip_shapes.py'
    for bad, message in [((None, 'cat'), 'Upload an image'), ((image, ''), 'at least one class name'),
                         ((np.zeros((8, 8, 3), np.uint8), 'cat'), 'at least 16 x 16'),
                         ((np.zeros((64, 64, 5), np.uint8), 'cat'), 'RGB image')]:
        with pytest.raises(AppError, match=message):
            segmenter.segment(bad[0], config, bad[1])
    with pytest.raises(AppError, match='at most 4096 pixels'):
        Segmenter(root=REPO, max_pixels=4096).segment(np.zeros((80, 80, 3), np.uint8), config, 'cat')
    with pytest.raises(AppError, match='not found'):
        segmenter.segment(image, 'configs/nope.py', 'cat')
    with pytest.raises(AppError, match='not available on this machine'):
        Segmenter(root=REPO, model_id=str(tmp_path / 'no-such-sd')).segment(image, 'configs/maskdiffusion_shapes.py',
                                                                            'cat')
    assert parse_classes('background, dog | puppy\ncat') == [['background'], ['dog', 'puppy'], ['cat']]
    with pytest.raises(AppError, match='empty synonym'):
        parse_classes('dog | ')
    # 16-bit and grey images are converted, not refused
    result = segmenter.segment(np.full((64, 64), 40000, np.uint16), config, 'background, disc')
    assert result.label_map.shape == (64, 64) and osp.isfile(result.label_path)
