"""Seal images for the tests: a red round 检定专用章 on a transparent background, as an institution
scans and cuts out its own, and the wrong kinds of file a clerk might pick instead."""

from __future__ import annotations

import io
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

RED = (200, 16, 24, 255)
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default()


def seal_png(side: int = 400, height: int | None = None, background: tuple[int, ...] = (0, 0, 0, 0)) -> bytes:
    """A round seal: a ring, a five-pointed star, 检定专用章 under it; transparent around it unless
    `background` says otherwise (opaque white: what a plain scan gives)."""
    height = height or side
    image = Image.new("RGBA", (side, height), background)
    draw = ImageDraw.Draw(image)
    r = min(side, height) / 2 - 4
    cx, cy = side / 2, height / 2
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=RED, width=max(3, int(r / 14)))
    star = []
    for k in range(10):
        radius = r * (0.32 if k % 2 == 0 else 0.13)
        angle = -math.pi / 2 + k * math.pi / 5
        star.append((cx + radius * math.cos(angle), cy - r * 0.08 + radius * math.sin(angle)))
    draw.polygon(star, fill=RED)
    draw.text((cx, cy + r * 0.55), "检定专用章", fill=RED, font=_font(int(r / 5)), anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), (255, 255, 255)).save(out, format="JPEG")
    return out.getvalue()
