"""Benchmark: printable certificates (issue 15) against reportlab rendering the same text, in one run.

    .venv/bin/python benchmarks/certificates.py [--n 200] [--repeat 3]

`--n` certificates are issued on a fresh SQLite database (the demo's mix, as issue_certificates.py
issues them: JJG 539 scales, in-service weighing tests, EV chargers, thermometer calibrations; not
timed). Then, `--repeat` times:

- **PDF**: each certificate laid out (`certificates.printed.printed_certificate` + `pdf.render_pdf`:
  read its ledger leaf, build the page, draw its QR code, embed the font subset), not signed;
- **signed PDF**: each certificate as a user downloads it (`certificates.printed.certificate_pdf`:
  the above, then a PAdES B-B signature with its institution's X.509 certificate, pyHanko);
- **DCC**: each certificate as DCC 3.3.0 XML (`certificates.printed.certificate_dcc`) and validated
  against the reference schemas (../shared/reference/dcc, xmlschema, loaded once);
- **reference**: reportlab alone writing the same text — the lines pdftotext reads from that
  certificate's PDF (extracted once, not timed) — as paragraphs in the same font on A4, with no
  tables, QR code or signature.

Prints pages/s and certificates/s of each, the median of the runs, and each one's share of the
reference (goals: PDF at least 30 %, signed PDF at least 10 %, DCC generated and validated at least
40 %). Needs poppler-utils
(pdftotext) and fonts-wqy-zenhei.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.issue_certificates import _empty_platform, issue, prepare  # noqa: E402
from jiliang.certificates.dcc import dcc_schema  # noqa: E402
from jiliang.certificates.pdf import _font, render_pdf  # noqa: E402
from jiliang.certificates.printed import certificate_dcc, certificate_pdf, printed_certificate  # noqa: E402
from jiliang.certificates.tables import certificates  # noqa: E402

GOAL = 0.30
GOAL_SIGNED = 0.10
GOAL_DCC = 0.40
DCC_REFERENCE = ROOT.parent / "shared" / "reference" / "dcc"


def pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page")  # reportlab writes one per page


def text_of(pdf: bytes, workdir: Path) -> list[str]:
    path = workdir / "one.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def reference_pdf(lines: list[str]) -> bytes:
    """reportlab writing `lines` as paragraphs in the certificate's font, A4: no tables, QR or signature."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    style = ParagraphStyle("p", fontName=_font(), fontSize=9, leading=13, wordWrap="CJK")
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4).build([Paragraph(line, style) for line in lines])
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if not shutil.which("pdftotext"):
        sys.exit("certificates: needs pdftotext (Debian's poppler-utils)")
    workdir = Path(tempfile.mkdtemp(prefix="jiliang-certs-"))
    try:
        platform = _empty_platform("sqlite", None, workdir)
        prepared = prepare(platform, a.n, "mix")
        issue(platform, prepared, prepared.tasks, 1000)
        with platform.engine.connect() as conn:
            rows = conn.execute(select(certificates).order_by(certificates.c.id)).all()
            assert len(rows) == a.n, len(rows)
            texts = [text_of(certificate_pdf(conn, platform, r), workdir) for r in rows]  # warm, not timed
            schema = dcc_schema(DCC_REFERENCE)
            pdf_rates, signed_rates, ref_rates, dcc_rates, pdf_pages, ref_pages = [], [], [], [], 0, 0
            for _ in range(a.repeat):
                t = time.perf_counter()
                for r in rows:
                    schema.validate(certificate_dcc(platform, r).decode())
                dcc_rates.append(len(rows) / (time.perf_counter() - t))
                t = time.perf_counter()
                made = [render_pdf(printed_certificate(conn, platform, r)) for r in rows]
                pdf_rates.append(len(rows) / (time.perf_counter() - t))
                pdf_pages = sum(map(pages, made))
                t = time.perf_counter()
                for r in rows:
                    certificate_pdf(conn, platform, r)
                signed_rates.append(len(rows) / (time.perf_counter() - t))
                t = time.perf_counter()
                refs = [reference_pdf(lines) for lines in texts]
                ref_rates.append(len(rows) / (time.perf_counter() - t))
                ref_pages = sum(map(pages, refs))
        pdf, ref = statistics.median(pdf_rates), statistics.median(ref_rates)
        print(
            f"certificates: {a.n} issued (the demo's mix), {pdf_pages / a.n:.2f} pages a PDF, "
            f"{ref_pages / a.n:.2f} pages a reference; median of {a.repeat}"
        )
        print(
            f"  reference (reportlab, the same text, no QR or signature): {ref:,.0f} certificates/s "
            f"= {ref * ref_pages / a.n:,.0f} pages/s (runs: {', '.join(f'{r:,.0f}' for r in ref_rates)})"
        )
        print(
            f"  PDF (leaf read, layout, QR code, font subset; unsigned): {pdf:,.0f} certificates/s "
            f"= {pdf * pdf_pages / a.n:,.0f} pages/s (runs: {', '.join(f'{r:,.0f}' for r in pdf_rates)})"
        )
        share = pdf / ref
        print(
            f"  PDF = {100 * share:.0f}% of the reference (goal >= {100 * GOAL:.0f}%: "
            f"{'PASS' if share >= GOAL else 'MISS'})"
        )
        signed = statistics.median(signed_rates)
        print(
            f"  signed PDF (as downloaded: the above + PAdES B-B): {signed:,.0f} certificates/s "
            f"= {signed * pdf_pages / a.n:,.0f} pages/s (runs: {', '.join(f'{r:,.0f}' for r in signed_rates)}) "
            f"= {100 * signed / ref:.0f}% of the reference "
            f"(goal >= {100 * GOAL_SIGNED:.0f}%: {'PASS' if signed / ref >= GOAL_SIGNED else 'MISS'})"
        )
        dcc = statistics.median(dcc_rates)
        print(
            f"  DCC generated and schema-validated: {dcc:,.0f} certificates/s "
            f"(runs: {', '.join(f'{r:,.0f}' for r in dcc_rates)}) = {100 * dcc / ref:.0f}% of the reference "
            f"(goal >= {100 * GOAL_DCC:.0f}%: {'PASS' if dcc / ref >= GOAL_DCC else 'MISS'})"
        )
        platform.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("JILIANG_ADMIN_PASSWORD", "bench-admin-pass")
    main()
