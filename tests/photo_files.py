"""Real image files for the photo tests, made here with Pillow (and by hand where a hostile file must lie
about itself): a phone's JPEG with GPS and an orientation tag, PNG, WebP and HEIC, and the files an
attacker or a broken phone sends."""
from __future__ import annotations

import functools
import io
import random
import struct
import zipfile
import zlib

import pillow_heif
from PIL import ExifTags, Image

pillow_heif.register_heif_opener()  # to write the HEIC file an iPhone sends

SECRET_WORDS = b"Patient Zhang Wei bed 4"


def jpeg_from_a_phone(size=(400, 200)) -> bytes:
    """Left half red, right half blue, stored on its side with Orientation 6 (turn 90 degrees clockwise to
    show), and EXIF that must not leak: the phone's make, a description naming a patient, GPS."""
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.ImageDescription] = SECRET_WORDS.decode()
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (31.0, 14.0, 7.5),
                                  ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (121.0, 28.0, 3.25)}
    return _saved(image, "JPEG", exif=exif, quality=95)


def plain(kind: str, size=(300, 200), colour=(0, 128, 0)) -> bytes:
    return _saved(Image.new("RGB", size, colour), kind)


def png_with_transparency() -> bytes:
    image = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (0, 0, 60, 80))
    return _saved(image, "PNG")


def heic() -> bytes:
    return _saved(Image.new("RGB", (320, 240), (10, 20, 200)), "HEIF")


def _saved(image: Image.Image, kind: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


# ---- hostile ------------------------------------------------------------------------------------

def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


@functools.cache
def png_bomb(side: int = 12_000) -> bytes:
    """A real, valid PNG of side x side grey pixels (144 megapixels at 12,000), all zero: about 140 KB on
    disk, 144 MB once decoded. Written row by row so the test never holds the pixels itself."""
    packer = zlib.compressobj(1)
    rows = b"\x00" * ((side + 1) * 200)  # 200 rows of a filter byte and one byte per pixel
    data = b"".join(packer.compress(rows) for _ in range(side // 200)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def png_claiming_huge_dimensions() -> bytes:
    """A PNG header saying 100,000 x 100,000 pixels with almost nothing behind it."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _png_chunk(b"IEND", b""))


def truncated_jpeg() -> bytes:
    whole = _saved(Image.effect_noise((640, 480), 64).convert("RGB"), "JPEG", quality=90)
    return whole[: len(whole) // 2]


def random_bytes() -> bytes:
    return random.Random(7).randbytes(5000)


SVG_WITH_SCRIPT = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                   b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>')


def pdf_named_jpg() -> bytes:
    """A real PDF (Pillow writes a JPEG into it), as it would arrive renamed photo.jpg."""
    return _saved(Image.new("RGB", (50, 50), "white"), "PDF")


def gif() -> bytes:
    return _saved(Image.new("RGB", (40, 40), "white"), "GIF")


def jpeg_with_trailing_zip() -> bytes:
    """A polyglot: a valid JPEG that is also a zip archive (the archive appended after the image's end)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.html", "<script>alert('owned')</script>")
    return plain("JPEG") + archive.getvalue()
