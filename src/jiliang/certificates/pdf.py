"""The printable certificate: a Chinese A4 PDF of a signed payload, laid out as a 检定证书 (检定结果通知书,
校准证书) is — number, owner, instrument, regulation, conclusion, signatories and dates first; then
the standards used, the environment, each of the regulation's tests and each reading with its error,
MPE, U (k) and the decision rule — with the certificate number and "第 x 页 共 y 页" on every page, a
place for the institution's 检定专用章 and a QR code to the public check.

The text is the signed payload's own (its Chinese half where a field reads "中文 / English"); only the
labels of a procedure's measurement points come from the procedure, so codes never show. reportlab
embeds the subset of WenQuanYi Zen Hei (Debian's fonts-wqy-zenhei) the page uses, so any reader shows
the Chinese.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import HRFlowable

from ..errors import Unavailable
from ..measurement.procedure_model import AMBIENT, EnvironmentQuantity, ambient

__all__ = ["FONT_PATHS", "PrintedCertificate", "render_pdf"]

FONT = "WenQuanYiZenHei"
# Debian's fonts-wqy-zenhei; a TrueType collection reportlab subsets and embeds (Noto CJK's CFF
# outlines it cannot)
FONT_PATHS = (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),)
MARGIN = 18 * mm
QR_SIZE = 28 * mm

STATUS_BANNERS = {
    "revoked": "本证书已撤销，不再有效",
    "superseded": "本证书已被更正，以更正后的新证书为准",
    "expired": "本证书已过有效期",
}
VERDICTS = {"pass": "合格", "fail": "不合格", "unknown": "未判定"}


def environment_text(environment: Mapping[str, Any], quantities: Sequence[EnvironmentQuantity] = AMBIENT) -> str:
    """The environment conditions as printed, in the order of the procedure's quantities, each by its
    Chinese name with its unit: "环境温度：20.5 °C；相对湿度：55 %RH"."""
    order = {q.name: n for n, q in enumerate(quantities)}
    named = {q.name: q for q in quantities}
    entries = []
    for key in sorted(environment, key=lambda k: (order.get(k, len(order)), k)):
        q, value = named.get(key) or ambient(key), str(environment[key])
        entries.append(f"{q.label_zh}：{q.shown(value)}" if q else f"{key}：{value}")
    return "；".join(entries)


@dataclass(frozen=True)
class PrintedCertificate:
    """What the PDF shows beside the signed payload."""

    payload: Mapping[str, Any]
    status: str  # valid, expired, revoked, superseded
    verify_url: str  # the public check the QR code leads to
    point_label: Callable[[str], str]  # a measurement point's name, from its procedure
    environment: Sequence[EnvironmentQuantity] = AMBIENT  # its procedure's, to name the conditions by
    leaf_hash: str | None = None  # the certificate's ledger leaf (hex), when it is in the ledger
    authorisation_no: str | None = None  # the institution's 计量授权证书 number, when recorded
    seal_png: bytes | None = None  # the institution's 检定专用章, when uploaded


@cache
def _font() -> str:
    for path in FONT_PATHS:
        if path.exists():
            pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
            return FONT
    raise Unavailable(
        "服务器缺少中文字体，无法生成 PDF，请管理员安装 fonts-wqy-zenhei / the server has no Chinese font for "
        "the PDF: its administrator must install Debian's fonts-wqy-zenhei"
    )


def zh(text: Any) -> str:
    """The Chinese half of a "中文 / English" text (all of any other)."""
    return "" if text is None else str(text).split(" / ", 1)[0]


class _QrCode(Flowable):
    """A QR code drawn as vector squares (segno's matrix, a fixed mask: no mask search per code)."""

    def __init__(self, url: str, size: float) -> None:
        super().__init__()
        self.matrix = [list(row) for row in segno.make(url, error="m", mask=0, micro=False).matrix]
        self.width = self.height = size

    def draw(self) -> None:
        n = len(self.matrix) + 8  # a quiet zone of four modules
        step = self.width / n
        c = self.canv
        c.setFillColor(colors.black)
        for y, row in enumerate(self.matrix):
            for x, dark in enumerate(row):
                if dark:
                    c.rect((x + 4) * step, self.height - (y + 5) * step, step, step, stroke=0, fill=1)


class _Seal(Flowable):
    """The institution's 检定专用章 (its uploaded image), or the place where it is stamped."""

    def __init__(self, png: bytes | None, size: float) -> None:
        super().__init__()
        self.png, self.width, self.height = png, size, size

    def draw(self) -> None:
        c = self.canv
        if self.png is not None:
            image = ImageReader(io.BytesIO(self.png))  # its proportions kept, centred in the square
            c.drawImage(image, 0, 0, self.width, self.height, mask="auto", preserveAspectRatio=True, anchor="c")
            return
        c.setStrokeColor(colors.grey)
        c.setDash(2, 2)
        c.circle(self.width / 2, self.height / 2, self.width / 2 - 1)
        c.setFont(_font(), 8)
        c.setFillColor(colors.grey)
        c.drawCentredString(self.width / 2, self.height / 2 - 3, "（检定专用章）")


def _numbered_canvas(number: str, issuer: str) -> type[Canvas]:
    """A canvas that writes the header and "第 x 页 共 y 页" once it knows how many pages there are."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for page in self._pages:
                self.__dict__.update(page)
                self._furniture(total)
                super().showPage()
            super().save()

        def _furniture(self, total: int) -> None:
            width, height = A4
            self.setFont(_font(), 8)
            self.setFillColor(colors.black)
            self.drawString(MARGIN, height - 12 * mm, issuer)
            self.drawRightString(width - MARGIN, height - 12 * mm, f"证书编号：{number}")
            self.setStrokeColor(colors.grey)
            self.line(MARGIN, height - 13.5 * mm, width - MARGIN, height - 13.5 * mm)
            self.drawCentredString(width / 2, 10 * mm, f"第 {self._pageNumber} 页 共 {total} 页")

    return NumberedCanvas


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=10),
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=26, alignment=1, spaceAfter=4 * mm),
        "heading": ParagraphStyle(
            "heading", parent=base, fontSize=11, leading=15, spaceBefore=4 * mm, spaceAfter=2 * mm
        ),
        "banner": ParagraphStyle(
            "banner", parent=base, fontSize=11, leading=15, textColor=colors.red, alignment=1, spaceAfter=3 * mm
        ),
    }


def _table(rows: Sequence[Sequence[Any]], widths: Sequence[float], header: bool = True) -> Table:
    table = Table(list(rows), colWidths=list(widths), repeatRows=1 if header else 0)
    style = [
        ("FONT", (0, 0), (-1, -1), _font(), 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)))
    table.setStyle(TableStyle(style))
    return table


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: reportlab reads a paragraph's text as markup, so an owner named
    "A&B <Ltd>" is escaped, not parsed."""
    return Paragraph(escape(text), style)


def _text(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def _summary(cert: PrintedCertificate, st: dict[str, ParagraphStyle]) -> list[Any]:
    """The first block: who, what, by which regulation, the conclusion, the dates and signatories."""
    p = cert.payload
    inst, owner, rec, sig = p.get("instrument", {}), p.get("owner", {}), p.get("record", {}), p.get("signatories", {})
    calibration = p.get("kind") == "calibration"
    word = "校准" if calibration else "检定"
    rows = [
        ("证书编号", p.get("number")),
        ("送检单位", owner.get("name")),
        ("单位地址", owner.get("address")),
        ("计量器具名称", inst.get("name")),
        ("型号规格", inst.get("model")),
        ("出厂编号", inst.get("serial_no")),
        ("制造单位", inst.get("manufacturer")),
        (f"{word}依据", rec.get("regulation")),
        (f"{word}结论", zh(p.get("conclusion"))),
        (f"{word}日期", rec.get("performed_on")),
    ]
    if p.get("replace_by"):
        rows.append(("应更换日期", p.get("replace_by")))
    elif p.get("kind") == "verification":  # a notice of non-conformity has no validity
        rows.append(("有效期至", p.get("valid_until") or "检定周期未知"))
    rows += [
        ("签发日期", str(p.get("issued_at", ""))[:10]),
        (f"{word}员", sig.get("verifier")),
        ("核验员", sig.get("checker")),
        ("批准人", sig.get("approver")),
    ]
    body = [[_para(k, st["body"]), _para(_text(v), st["body"])] for k, v in rows]
    table = Table(body, colWidths=[32 * mm, 100 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    qr = Table(
        [[_QrCode(cert.verify_url, QR_SIZE)], [_para("扫码核验本证书", st["small"])]], colWidths=[QR_SIZE + 4 * mm]
    )
    layout = Table([[table, qr]], colWidths=[134 * mm, 40 * mm])
    layout.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [layout]


def _standards(p: Mapping[str, Any], st: dict[str, ParagraphStyle], word: str) -> list[Any]:
    stds = p.get("standards") or []
    if not stds:
        return []
    rows: list[list[Any]] = [["计量标准", "计量标准考核证书", "检定或校准证书"]]
    for s in stds:
        name = _para(_text(s.get("name")), st["small"])
        rows.append([name, _text(s.get("examination_certificate")), _text(s.get("calibration_certificate"))])
    return [_para(f"本次{word}所使用的计量标准", st["heading"]), _table(rows, [70 * mm, 52 * mm, 52 * mm])]


def _environment(cert: PrintedCertificate, st: dict[str, ParagraphStyle]) -> list[Any]:
    env = (cert.payload.get("record") or {}).get("environment") or {}
    if not env:
        return []
    text = environment_text(env, cert.environment)
    return [_para("环境条件", st["heading"]), _para(text, st["body"])]


def _tests(p: Mapping[str, Any], st: dict[str, ParagraphStyle], word: str) -> list[Any]:
    tests = p.get("tests") or []
    if not tests:
        return []
    rows: list[list[Any]] = [[f"{word}项目", "结论", "测得值", "限值"]]
    for t in tests:
        unit = f" {t['unit']}" if t.get("unit") else ""
        value = f"{t['value']}{unit}" if t.get("value") is not None else "—"
        limit = f"{t['limit']}{unit}" if t.get("limit") is not None else "—"
        verdict = VERDICTS.get(str(t.get("verdict")), "未判定")
        if t.get("problem"):
            verdict += "（" + zh(t["problem"]) + "）"
        rows.append([_para(_text(t.get("name_zh")), st["small"]), _para(verdict, st["small"]), value, limit])
    return [_para(f"{word}项目及结论", st["heading"]), _table(rows, [50 * mm, 60 * mm, 32 * mm, 32 * mm])]


def _points(cert: PrintedCertificate, st: dict[str, ParagraphStyle], word: str) -> list[Any]:
    points = cert.payload.get("points") or []
    if not points:
        return []
    rows: list[list[Any]] = [["序号", "测量点", "标准值", "示值", "误差", "最大允许误差", "U (k)", "判定"]]
    for pt in points:
        unit = pt.get("mpe_unit") or ""
        mpe = f"{pt['mpe_lower']} ~ {pt['mpe_upper']} {unit}".strip() if pt.get("mpe_lower") is not None else "—"
        u = pt.get("expanded_uncertainty")
        uk = f"{u} (k={pt.get('coverage_factor') or '—'})" if u is not None else "—"
        conforms = pt.get("conforms")
        verdict = "—" if conforms is None else ("合格" if conforms else "不合格")
        rows.append(
            [
                str(int(pt.get("seq", 0)) + 1),
                _para(cert.point_label(str(pt.get("point_id"))), st["small"]),
                _text(pt.get("reference")),
                _text(pt.get("indication")),
                _text(pt.get("corrected_error") or pt.get("error")),
                _para(mpe, st["small"]),
                uk,
                verdict,
            ]
        )
    widths = [10 * mm, 38 * mm, 19 * mm, 19 * mm, 19 * mm, 34 * mm, 21 * mm, 14 * mm]
    return [_para(f"{word}数据", st["heading"]), _table(rows, widths)]


def _closing(cert: PrintedCertificate, st: dict[str, ParagraphStyle]) -> list[Any]:
    p = cert.payload
    rec = p.get("record") or {}
    lines = [
        f"判定规则：{zh(rec.get('decision_rule'))}" if rec.get("decision_rule") else None,
        f"检定机构：{zh((p.get('issuer') or {}).get('name'))}（{(p.get('issuer') or {}).get('code')}）",
        f"计量授权证书编号：{cert.authorisation_no or '未登记'}",
        f"记录内容摘要（SHA-256）：{p.get('content_hash')}",
        f"账本叶哈希（SHA-256）：{cert.leaf_hash}" if cert.leaf_hash else None,
        f"在线核验：{cert.verify_url}",
        "本证书由检定机构以电子签名签发；扫描二维码可核验其签名、状态与账本记录。",
    ]
    text = [_para(line, st["small"]) for line in lines if line]
    seal = Table([[text, _Seal(cert.seal_png, 36 * mm)]], colWidths=[134 * mm, 40 * mm])
    seal.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [Spacer(1, 4 * mm), HRFlowable(width="100%", color=colors.grey), KeepTogether([seal])]


def render_pdf(cert: PrintedCertificate) -> bytes:
    """The certificate as an A4 PDF (bytes)."""
    st = _styles()
    p = cert.payload
    story: list[Any] = [_para(zh(p.get("title")), st["title"])]
    banner = STATUS_BANNERS.get(cert.status)
    if p.get("supersedes"):
        banner = (banner + "；" if banner else "") + f"本证书更正并取代证书 {p['supersedes']}"
    if p.get("advisory"):
        banner = (banner + "；" if banner else "") + "部分判定所依据的规则尚待确认，结论仅供参考"
    if banner:
        story.append(_para(banner, st["banner"]))
    story += _summary(cert, st)
    word = "校准" if p.get("kind") == "calibration" else "检定"
    story += _standards(p, st, word)
    story += _environment(cert, st)
    story += _tests(p, st, word)
    story += _points(cert, st, word)
    story += _closing(cert, st)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 2 * mm,
        bottomMargin=MARGIN,
        title=f"{zh(p.get('title'))} {p.get('number')}",
        author=zh((p.get("issuer") or {}).get("name")),
        subject=str(p.get("number")),
    )
    issuer = zh((p.get("issuer") or {}).get("name"))
    doc.build(story, canvasmaker=_numbered_canvas(str(p.get("number")), issuer))
    return out.getvalue()
