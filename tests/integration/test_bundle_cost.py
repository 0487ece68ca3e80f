"""The PDF bundle has a bounded cost (issue 11, item 4).

Before the fix, each image was decoded whole and kept at 300 dpi: seven accepted
6000 × 6000 PNGs made one bundle request take 7 s and +443 MB, and three at
once 2.76 GB. Now each image enters the bundle reduced to A4 at 150 dpi, one at
a time, a PNG decoded a band of rows at a time and a JPEG by its decoder at
1/2, 1/4 or 1/8 of its size.

The peak is the process' resident memory (what the operating system sees),
measured in a process of its own: Pillow's pixels are outside tracemalloc's view.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

from PIL import Image
from pypdf import PdfReader

from imagin.storage import Storage

MB = 1024 * 1024
# A4 at 150 dpi, portrait (width, height) in pixels.
PRINT_PIXELS = (1240, 1754)

MEASURE = textwrap.dedent(
    """
    import json, re, sys, threading
    from pathlib import Path
    from imagin.documents.bundle import build_bundle
    from imagin.models import Document
    from imagin.storage import Storage

    root, names, bundles = Path(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
    storage = Storage(root)

    def documents():
        return [
            Document(id=n, original_name=f"scan-{n}" + Path(name).suffix, stored_name=name,
                     content_type="image/png" if name.endswith(".png") else "image/jpeg",
                     size=(root / name).stat().st_size, sha256="0" * 64)
            for n, name in enumerate(names, start=1)
        ]

    def memory(name):
        status = open("/proc/self/status").read()
        return int(re.search(name + r":\\s+(\\d+) kB", status).group(1)) * 1024

    # Every module and plugin loaded, and the pages of one small document made, first.
    build_bundle(documents()[:0], storage, ["Mission"]).close()
    # The peak starts from what the process holds now, not from what its parent held
    # when it forked this one (Linux: writing 5 to clear_refs resets VmHWM).
    open("/proc/self/clear_refs", "w").write("5")
    before = memory("VmRSS")
    outputs = []
    def one():
        outputs.append(build_bundle(documents(), storage, ["Mission N° 621"]))
    threads = [threading.Thread(target=one) for _ in range(bundles)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    grown = memory("VmHWM") - before
    output = outputs[0]
    output.seek(0, 2)
    print(json.dumps({"grown": grown, "size": output.tell(), "before": before}))
    output.seek(0)
    Path(sys.argv[4]).write_bytes(output.read())
    """
)


def big_png() -> bytes:
    """6000 × 6000 RGB, smooth enough to be accepted under 5 MB."""
    ramp = Image.linear_gradient("L").resize((6000, 6000))
    picture = Image.merge(
        "RGB", (ramp, ramp.rotate(90), ramp.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    )
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def big_jpeg() -> bytes:
    picture = Image.linear_gradient("L").resize((6000, 6000)).convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def measure(tmp_path, names: list[str], bundles: int = 1) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURE,
            str(tmp_path / "uploads"),
            json.dumps(names),
            str(bundles),
            str(tmp_path / "bundle.pdf"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def stored_images(tmp_path, data: bytes, extension: str, count: int) -> list[str]:
    storage = Storage(tmp_path / "uploads")
    return [storage.save_bytes(data, extension=extension).name for _ in range(count)]


def test_seven_6000_px_pngs_cost_a_bundle_less_than_100_mb(tmp_path):
    data = big_png()
    assert len(data) < 5 * MB
    names = stored_images(tmp_path, data, ".png", 7)
    measured = measure(tmp_path, names)
    assert measured["grown"] < 100 * MB, measured
    reader = PdfReader(tmp_path / "bundle.pdf")
    assert len(reader.pages) == 1 + 7
    for page in reader.pages[1:]:
        [image] = page.images
        # 6000 / 5: A4 at 150 dpi at most (1240 px wide), a fifth of the scan.
        assert image.image.size == (1200, 1200)
        assert image.image.width <= PRINT_PIXELS[0]


def test_three_bundles_at_once_of_big_pngs_and_jpegs_stay_bounded(tmp_path):
    names = stored_images(tmp_path, big_png(), ".png", 3) + stored_images(
        tmp_path, big_jpeg(), ".jpg", 3
    )
    measured = measure(tmp_path, names, bundles=3)
    # Each bundle holds one reduced image at a time, whatever the documents.
    assert measured["grown"] < 3 * 100 * MB, measured
    reader = PdfReader(tmp_path / "bundle.pdf")
    sizes = [page.images[0].image.size for page in reader.pages[1:]]
    assert sizes[:3] == [(1200, 1200)] * 3
    # The JPEG's decoder reduced it to 1/4 (1500 px), then to the page's 1240 px.
    assert sizes[3:] == [(1240, 1240)] * 3
