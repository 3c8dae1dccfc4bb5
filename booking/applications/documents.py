"""Scanned documents: what is accepted, how it is cleaned, where it is kept.

- The type is decided by the bytes (magic numbers), never by the client's file name or
  Content-Type: PDF, JPEG and PNG only. A renamed executable is refused.
- Images are decoded and re-encoded, which drops EXIF (GPS position, camera serial,
  owner), comments and text chunks; the EXIF orientation is applied first so the scan
  stays upright. A file that does not decode is refused.
- PDFs are parsed (qpdf, through pikepdf) and written anew without their metadata (the
  document information dictionary: author, creator, producer, dates; the XMP streams of
  the document and its pages) and without active content (JavaScript, open actions,
  embedded files) or encryption. A file that does not parse, or needs a password, is
  refused.
- Files are stored under ``settings.upload_dir/documents`` with the document's generated
  id as their name: nothing the client sends reaches a path. The upload directory is not
  served statically; files are read only through the API, which checks who asks.
- Scans of identity cards carry the ID numbers that the database keeps encrypted
  (DESIGN.md 4.6), so the files are encrypted too (AES-256-GCM under the data key, bound
  to the document's id: a file copied to another document's name does not decrypt).
"""

from __future__ import annotations

import hashlib
import io
import os
import unicodedata
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from PIL import Image, ImageOps, UnidentifiedImageError

from booking.errors import PayloadTooLarge as _PayloadTooLarge
from booking.errors import Problem, invalid
from booking.i18n import lazy
from booking.security.pii import PersonalDataVault

MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
# A scan at 600 dpi of an A3 page is ~70 megapixels; anything larger is not a scan and
# decoding it could exhaust memory (a decompression bomb).
MAX_PIXELS = 80_000_000
MAX_PDF_PAGES = 100
# what a cleaned PDF keeps none of: metadata, and content that runs or hides things
PDF_ROOT_DROPPED = ("/Metadata", "/OpenAction", "/AA", "/PieceInfo", "/SpiderInfo", "/Threads")
PDF_NAMES_DROPPED = ("/JavaScript", "/EmbeddedFiles")
PDF_PAGE_DROPPED = ("/Metadata", "/PieceInfo", "/AA")
FILE_NAME_MAX = 100


class UnsupportedDocumentType(Problem):
    status = 415
    code = "unsupported-document-type"
    title = lazy("Only PDF, JPEG and PNG files are accepted.")


class DocumentTooLarge(_PayloadTooLarge):
    code = "document-too-large"
    title = lazy("The file is too large.")


def sniff(data: bytes) -> str | None:
    """The media type the content really has, or None."""
    for magic, media_type in MAGIC:
        if data.startswith(magic):
            return media_type
    return None


def safe_file_name(name: str | None) -> str:
    """The client's file name, for display only; a name that looks like a path (or hides
    itself, or carries control characters) is refused rather than cleaned up, so that
    nothing surprising is ever shown to a clerk."""
    if not name:
        raise invalid("file", lazy("The file needs a name."))
    name = unicodedata.normalize("NFC", name)
    if (len(name) > FILE_NAME_MAX or any(ch in name for ch in "/\\:") or ".." in name or name.startswith(".")
            or name.strip() != name or not name.isprintable()):
        raise invalid("file", lazy("The file name must be a plain name, not a path."))
    return name


def clean_image(data: bytes, media_type: str) -> bytes:
    """Decode and re-encode, without metadata."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.format != PIL_FORMATS[media_type]:
                    raise UnsupportedDocumentType()
                width, height = opened.size
                if width * height > MAX_PIXELS:
                    raise invalid("file", lazy("The image is too large."))
                opened.load()
                image = ImageOps.exif_transpose(opened) or opened
                transparency = image.info.get("transparency")
                image.info = {}  # comments, text chunks, ICC profile, EXIF: none is kept
                out = io.BytesIO()
                if media_type == "image/jpeg":
                    if image.mode not in ("RGB", "L", "CMYK"):
                        image = image.convert("RGB")
                    image.save(out, format="JPEG", quality=90)
                else:
                    options = {"transparency": transparency} if transparency is not None else {}
                    image.save(out, format="PNG", **options)
                return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise invalid("file", lazy("The image cannot be read.")) from None


def clean_pdf(data: bytes) -> bytes:
    """Parse and write anew, without metadata, active content or encryption."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) > MAX_PDF_PAGES:
                raise invalid("file", lazy("The PDF has too many pages."))
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
            for key in PDF_ROOT_DROPPED:
                if key in pdf.Root:
                    del pdf.Root[key]
            names = pdf.Root.get("/Names")
            if isinstance(names, pikepdf.Dictionary):
                for key in PDF_NAMES_DROPPED:
                    if key in names:
                        del names[key]
            for page in pdf.pages:
                for key in PDF_PAGE_DROPPED:
                    if key in page.obj:
                        del page.obj[key]
            pdf.remove_unreferenced_resources()
            out = io.BytesIO()
            pdf.save(out, encryption=False, fix_metadata_version=False, deterministic_id=True)
            return out.getvalue()
    except pikepdf.PasswordError:
        raise invalid("file", lazy("The PDF is protected by a password.")) from None
    except (pikepdf.PdfError, ValueError, RecursionError):
        raise invalid("file", lazy("The PDF cannot be read.")) from None


@dataclass(frozen=True, slots=True)
class CleanScan:
    """What is stored of an upload: its real type, the cleaned bytes and their digest."""

    media_type: str
    content: bytes
    sha256: str


def inspect_upload(data: bytes, max_bytes: int) -> CleanScan:
    """The scan to store, or a refusal. CPU-bound (an image is decoded): run it in a thread."""
    if len(data) > max_bytes:
        raise DocumentTooLarge(limit_bytes=max_bytes)
    if not data:
        raise invalid("file", lazy("The file is empty."))
    media_type = sniff(data)
    if media_type is None:
        raise UnsupportedDocumentType()
    if media_type in PIL_FORMATS:
        data = clean_image(data, media_type)
    else:
        data = clean_pdf(data)
    return CleanScan(media_type, data, hashlib.sha256(data).hexdigest())


class DocumentStore:
    """Encrypted files on the local disk (a volume shared by the API replicas)."""

    def __init__(self, root: Path, vault: PersonalDataVault) -> None:
        self.root = root / "documents"
        self._vault = vault

    def path(self, document_id: uuid.UUID) -> Path:
        return self.root / document_id.hex  # generated: never a client's name

    def write(self, document_id: uuid.UUID, data: bytes) -> None:
        self.root.mkdir(parents=True, mode=0o700, exist_ok=True)
        final = self.path(document_id)
        tmp = final.with_suffix(".part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self._vault.seal(data, context=f"document:{document_id}"))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(final)

    def read(self, document_id: uuid.UUID) -> bytes:
        return self._vault.unseal(self.path(document_id).read_bytes(), context=f"document:{document_id}")

    def delete(self, document_id: uuid.UUID) -> None:
        self.path(document_id).unlink(missing_ok=True)
