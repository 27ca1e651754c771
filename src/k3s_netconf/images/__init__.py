"""Container images on the device: archives in the images folder, imported into containerd."""

from k3s_netconf.images.archive import resolve_archive
from k3s_netconf.images.store import IMPORTED_AT_LABEL, ImageInfo, ImageStore

__all__ = ["IMPORTED_AT_LABEL", "ImageInfo", "ImageStore", "resolve_archive"]
