"""A declared asset as the planner sees it (`DesiredAsset`): its config
spec, its file's sha256, size and audio facts, and the rendition and lint
rules its `audio` and `lint` tables layer up to.

`config.load_config` validates the TOML and calls these once per asset; a
file that cannot be read or is not audio ends in a ConfigError naming the
asset's key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from reconciler.audio import NotAudioError
from reconciler.audio.lint import LintRules
from reconciler.audio.recipe import AudioSettings
from reconciler.digests import Facts, read_facts
from reconciler.errors import ConfigError
from reconciler.inputs import InputError, real_path
from reconciler.model import DesiredAsset, is_content_hash
from reconciler.providers import Provider
from reconciler.providers.settings import AssetSpec


def build_asset(
    instance: str, key: str, spec: AssetSpec, base: Path, where: str, file: str, provider: Provider,
    *, reads: dict[Path, Facts | Exception] | None = None, read_audio: bool = True,
    folders: dict[str, str] | None = None,
) -> DesiredAsset:
    ignored = spec.ignore_changes if spec.ignore_changes is not None else provider.settings.ignore_changes
    common = {
        "address": f"{instance}.{key}", "instance": instance, "key": key, "name": spec.name or key,
        "description": spec.description, "protect": spec.protect, "spec": spec,
        "ignore_changes": tuple(sorted(set(ignored))),
    }
    identity = spec.content_identity()
    if identity is not None:  # file-less: the provider's create works from the spec
        return DesiredAsset(**common, sha256=identity, size=0)
    if spec.file is None:  # library.split_overrides lets none through; a guard for new callers
        raise ConfigError(f"{where}: required key 'file' is missing", file=file)
    path = real_path(os.path.join(base, spec.file), folders)  # folders: resolved once per load (real_path)
    if not read_audio:
        return DesiredAsset(**common, file=path, sha256="", size=0, content_known=False)
    sha, size, info = _read_asset_file(path, where, file, reads.get(path) if reads is not None else None)
    if reads is not None:
        reads[path] = (sha, size, info)
    return DesiredAsset(**common, file=path, sha256=sha, size=size, audio=info)


def _read_asset_file(
    path: Path, where: str, file: str, result: Facts | Exception | None = None
) -> tuple[str, int, Any]:
    """sha256, size and facts of an asset's file (`result`: read already, by
    digests.read_many), or the ConfigError that names the asset."""
    if result is None:
        try:
            result = read_facts(path)
        except (InputError, NotAudioError) as exc:
            result = exc
    exc = result
    if isinstance(exc, InputError):
        if exc.missing:
            raise ConfigError(
                f"{where}: audio file {path} does not exist",
                file=file,
                hint="Fix the path (it is relative to the config file) or add the file.",
            ) from None
        if exc.reason == "is a folder, not a regular file":
            raise ConfigError(f"{where}: {path} is a folder, not an audio file", file=file) from None
        raise ConfigError(
            f"{where}: audio file {path} {exc.reason}",
            file=file,
            hint="Point `file` at a regular, readable audio file.",
        ) from None
    if isinstance(exc, NotAudioError):
        raise ConfigError(
            f"{where}: {path} is not audio: {exc}",
            file=file,
            hint="Check the file: its extension does not matter, its content does.",
        ) from None
    assert not isinstance(result, Exception)
    return result

def effective_audio(*layers: AudioSettings | None) -> AudioSettings | None:
    """An asset's recipe from its `audio` tables, least specific first (the
    instance's, then the asset's or glob entry's): keys set on a later layer
    override an earlier one's; None when no layer declares one. A library
    prompt's table arrives already composed with its instance's and override's
    by `library.compose` (library < instance < override); laying the instance's
    under it again changes nothing."""
    result: AudioSettings | None = None
    for layer in layers:
        if layer is not None:
            result = layer.merged_over(result)
    return result


def effective_lint(*layers: LintRules | None) -> LintRules | None:
    """An asset's lint rules: `[lint]` < the instance's `lint` < the asset's,
    threshold by threshold; None when none is declared."""
    result: LintRules | None = None
    for layer in layers:
        if layer is not None:
            result = layer if result is None else layer.merged_over(result)
    return result


class AudioLoader:
    """Attaches renditions and lint rules to assets as the config is loaded.
    The audio stack (numpy, libsndfile) is imported only when a recipe exists."""

    def __init__(self, base: Path, file: str) -> None:
        self.base = base
        self.file = file
        self.renditions: Any = None  # reconciler.renditions.Renditions, made on first use

    def finish(self) -> None:
        """Store what this load rendered and measured (one index write, if any)."""
        if self.renditions is not None:
            self.renditions.flush()

    def attach(
        self, asset: DesiredAsset, where: str, audio: AudioSettings | None, lint: LintRules | None,
        *, declared_audio: bool,
    ) -> DesiredAsset:
        if asset.file is None or not is_content_hash(asset.sha256):
            if declared_audio:
                raise ConfigError(
                    f"{where}: `audio` needs a local `file` to render; this asset has none", file=self.file
                )
            return asset  # file-less (a provider's preinstalled prompt): nothing to render or measure
        if audio is not None:
            if self.renditions is None:
                from reconciler.renditions import Renditions

                self.renditions = Renditions(self.base)
            asset = self.renditions.attach(asset, audio, where=where, file=self.file)
        # plan-time lint is opted into by a recipe, a [lint] table or an asset's own `lint`
        if lint is None and audio is not None:
            lint = LintRules()
        target = asset.rendition.recipe.get("loudness") if asset.rendition is not None else None
        if lint is not None and target is not None and "target" not in lint.loudness.model_fields_set:
            # a rendition normalised to its recipe's loudness is judged against that target
            lint = LintRules.model_validate({"loudness": {"target": target}}).merged_over(lint)
        return asset.model_copy(update={"lint": lint}) if lint is not None else asset


