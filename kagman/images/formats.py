"""Image formats: the one list of extensions the index accepts, and telling formats by content."""

from __future__ import annotations

__all__ = ["IMAGE_EXTENSIONS", "describe_non_image", "extensions_text", "sniff"]

#: Lower-case extensions (without the dot) of formats Pillow opens out of the box.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {"jpg", "jpeg", "jpe", "jfif", "png", "bmp", "dib", "gif", "webp", "tif", "tiff"}
)


def extensions_text() -> str:
    """The accepted extensions for messages, in a stable order.

    >>> extensions_text()
    '.bmp .dib .gif .jfif .jpe .jpeg .jpg .png .tif .tiff .webp'
    """
    return " ".join(f".{ext}" for ext in sorted(IMAGE_EXTENSIONS))


def sniff(head: bytes) -> str:
    """Name the image format from a file's first bytes, or ``""`` if it is none.

    >>> sniff(b"\\x89PNG\\r\\n\\x1a\\n....")
    'PNG'
    >>> sniff(b"\\xff\\xd8\\xff\\xe0")
    'JPEG'
    >>> sniff(b"<!DOCTYPE html>")
    ''
    """
    if head[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:2] == b"BM" and len(head) >= 26:
        return "BMP"
    return ""


def describe_non_image(head: bytes) -> str:
    """Say in words what a file that is not an image looks like.

    >>> describe_non_image(b"  <!doctype html><html>")
    'an HTML page (often an error or login page saved under an image name)'
    >>> describe_non_image(b"PK\\x03\\x04rest")
    'a ZIP archive'
    """
    start = head.lstrip()[:64].lower()
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in start:
        return "an HTML page (often an error or login page saved under an image name)"
    if start.startswith((b"<?xml", b"<svg")):
        return "XML or SVG text, not a raster image"
    if start.startswith((b"{", b"[")):
        return "JSON text"
    if head[:4] == b"PK\x03\x04":
        return "a ZIP archive"
    if head[:2] == b"\x1f\x8b":
        return "a gzip file"
    if head[:4] == b"%PDF":
        return "a PDF document"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "a HEIC/AVIF image, which Pillow cannot open without a plugin"
    return f"unknown content (first bytes {head[:8].hex(' ')})"
