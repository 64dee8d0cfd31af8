"""The seal image an institution uploads, its 检定专用章 printed on its PDF certificates: a PNG that
Pillow decodes in full (a file that only looks like one is refused), of a sensible size, with the
transparent background a scanned and cut-out seal has, so the stamp lies over the page like ink.
It is kept re-encoded as an 8-bit RGBA PNG of at most `KEPT_SIDE` pixels a side (36 mm on the page
at 280 dpi, as an office printer prints it): no metadata travels with it, and each PDF embeds a
small image (a 600 px one cost 14 ms a PDF to compress, a 400 px one 4 ms)."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image

from ..errors import InvalidInput

__all__ = ["MAX_BYTES", "MIN_SIDE", "MAX_SIDE", "KEPT_SIDE", "SealImage", "seal_image"]

MAX_BYTES = 512 * 1024  # the file as uploaded
MIN_SIDE = 100  # pixels: smaller prints as a blur at 36 mm
MAX_SIDE = 2500  # pixels: a 42 mm seal scanned at 600 dpi is ~1000; decoded, 2500² RGBA is 25 MB
KEPT_SIDE = 400
MIN_TRANSPARENT = 0.10  # share of the pixels: a round seal cut from its paper leaves its corners (21 %)
MIN_INK = 0.01  # share of the pixels that must show something
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class SealImage:
    png: bytes  # as kept: 8-bit RGBA, at most KEPT_SIDE a side
    width: int
    height: int
    sha256: str  # of `png`, as the ledger and the audit trail name it


def _refuse(zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"{zh} / {en}", rule="seal_image")


def seal_image(data: bytes) -> SealImage:
    """The uploaded file checked and re-encoded as kept; InvalidInput saying what is wrong with it."""
    if not data:
        raise _refuse("请选择印章图片文件", "choose the seal's image file")
    if len(data) > MAX_BYTES:
        raise _refuse(
            f"印章图片不能超过 512 KB（此文件 {len(data) // 1024} KB）",
            f"the seal image may be at most 512 KB (this file: {len(data) // 1024} KB)",
        )
    if not data.startswith(_PNG_SIGNATURE):
        raise _refuse("印章图片须为 PNG 格式", "the seal image must be a PNG file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            width, height = image.size  # from the header, before any pixel is decoded
            if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
                raise _refuse(
                    f"印章图片的宽和高须在 {MIN_SIDE}–{MAX_SIDE} 像素之间（此图 {width} × {height}）",
                    f"the seal image must be {MIN_SIDE}–{MAX_SIDE} pixels wide and high (this one: {width} × {height})",
                )
            if getattr(image, "n_frames", 1) > 1:
                raise _refuse("印章图片不能是动画", "the seal image must not be animated")
            image.load()  # every pixel decoded: a damaged or truncated file fails here
            rgba = image.convert("RGBA")
    except InvalidInput:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(
            "无法读取印章图片：文件已损坏或不是 PNG", "the seal image cannot be read: the file is damaged or not a PNG"
        ) from None
    histogram = rgba.getchannel("A").histogram()
    pixels = width * height
    if sum(histogram[:16]) < MIN_TRANSPARENT * pixels:
        raise _refuse(
            "印章图片须为透明背景（带透明通道的 PNG，印章以外的部分透明）",
            "the seal image needs a transparent background (a PNG with an alpha channel, clear around the seal)",
        )
    if sum(histogram[128:]) < MIN_INK * pixels:
        raise _refuse("印章图片几乎全透明，看不到印章", "the seal image is almost entirely transparent: no seal shows")
    if max(width, height) > KEPT_SIDE:
        rgba.thumbnail((KEPT_SIDE, KEPT_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgba.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    return SealImage(png, rgba.width, rgba.height, hashlib.sha256(png).hexdigest())
