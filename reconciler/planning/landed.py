"""Recognising the upload of a replace that an interrupted apply never
recorded (crash recovery): it is taken over instead of uploaded twice."""

from __future__ import annotations

from reconciler.compare import compare_content
from reconciler.lockfile import LockEntry
from reconciler.model import DesiredAsset, RemoteAsset, is_content_hash
from reconciler.planning.instance import InstancePlanner


def temporary_name(name: str, sha256: str, max_length: int | None) -> str:
    """The name a TEMP_NAME replace uploads under until the old asset is gone:
    the name and a prefix of the new content's sha256, so that a leftover of
    an interrupted replace is recognisable (`landed_upload`)."""
    suffix = f"~{sha256[:8]}"
    if max_length is not None and len(name) + len(suffix) > max_length:
        name = name[: max_length - len(suffix)]
    return name + suffix


def landed_upload(p: InstancePlanner, asset: DesiredAsset, entry: LockEntry) -> RemoteAsset | None:
    """The new asset of a replace that an interrupted apply uploaded but never
    recorded (killed between the upload and its lockfile checkpoint): under
    the final name or the temporary one, not recorded, and holding this
    address's content — by reconciler's marker where the provider keeps one,
    else by the best comparison the listing allows (sha256, size, duration).
    The replace takes it instead of uploading a duplicate."""
    if not p.listed or not is_content_hash(asset.sha256):
        return None
    current = p.by_id.get(entry.remote_id)
    if current is not None and current.sha256 == asset.sha256:
        return current  # overwritten in place already: only the record is behind
    names = {asset.name, temporary_name(asset.name, asset.sha256, p.caps.name_max_length)}
    for name in sorted(names):
        for remote in p.by_name.get(name, []):
            if remote.remote_id in p.recorded_ids or remote.remote_id in p.claimed:
                continue
            if p.caps.marks_owner:
                ours = remote.owner_marker is not None and remote.owner_marker.matches(asset)
                if ours and remote.size in (None, asset.size):
                    return remote
            elif compare_content(asset, remote)[0]:
                return remote
    return None
