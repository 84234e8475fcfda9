"""When the sample's zips were posted, as their hosts' Last-Modified says it.

A real host answers a file with the time it was posted; a zip of the sample carries that time in its
members (the scripts that make them write it there), while the checkout's file times are only when it
was written. The demo's server and the tests' mirror answer with this, so SEC's fails-to-deliver are
published in the sample's world.
"""

import datetime as dt
import email.utils
import io
import zipfile


def last_modified(body: bytes) -> str | None:
    """The newest member time of a zip as an HTTP date (member times carry no zone: UTC); None if `body`
    is not a zip (a test's corrupt file is served as it is)."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            posted = max(member.date_time for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return None
    return email.utils.format_datetime(dt.datetime(*posted, tzinfo=dt.UTC), usegmt=True)
