"""Printing a report in Chromium as a person does (print to PDF), and reading the PDF back per page.

Chromium fires `beforeprint` before it lays a page out for paper; `page.pdf` does not, so
`print_report` fires it first, as the browser's own print would."""

from __future__ import annotations

from pathlib import Path

MARKERS_JS = """() => {
  const plots = [...document.querySelectorAll('.plot')];
  plots.forEach((p, i) => {
    for (const [where, text] of [['top', `CHARTSTART${i}X`], ['bottom', `CHARTEND${i}X`]]) {
      const m = document.createElement('span');
      m.textContent = text;
      m.style.cssText = `position:absolute;${where}:0;left:0;font-size:3px;color:#fff;`;
      p.style.position = 'relative';
      p.appendChild(m);
    }
  });
  return plots.length;
}"""


WIDTHS_JS = "() => [...document.querySelectorAll('.plot .main-svg')].map(s => s.getBoundingClientRect().width)"


def print_report(page, html: Path, pdf: Path, paper: str, markers: bool = False) -> tuple[int, list[float]]:
    """Open `html`, print it to `pdf` on `paper` ("A4", "Letter"); with `markers`, a tiny text at the
    top and at the bottom of every chart first (to find on which page each end landed). Returns
    the number of charts and their widths as printed (CSS pixels)."""
    page.goto(html.as_uri())
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.plot')].every(p => p.querySelector('.main-svg'))", timeout=60_000
    )
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_timeout(500)  # Plotly's relayout draws on the next frames
    charts = page.evaluate(MARKERS_JS) if markers else page.locator(".plot").count()
    widths = page.evaluate(WIDTHS_JS)
    page.pdf(path=str(pdf), format=paper, print_background=True)
    return int(charts), [float(w) for w in widths]


def pdf_pages_text(pdf: Path) -> list[str]:
    """Each page's text."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def pdf_pages_png(pdf: Path, out: Path, pages: int = 8, columns: int = 4, scale: float = 0.7) -> Path:
    """The first `pages` pages side by side in one PNG (for the docs)."""
    import pypdfium2 as pdfium
    from PIL import Image

    document = pdfium.PdfDocument(str(pdf))
    try:
        images = [document[i].render(scale=scale).to_pil() for i in range(min(pages, len(document)))]
    finally:
        document.close()
    w, h = images[0].size
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (w * columns + 8 * (columns + 1), h * rows + 8 * (rows + 1)), "#cbd5e1")
    for k, image in enumerate(images):
        sheet.paste(image, (8 + (k % columns) * (w + 8), 8 + (k // columns) * (h + 8)))
    sheet.save(out, optimize=True)
    return out
