"""What a rendition is, as the plan and the lockfile see it. Light (pydantic
only): a plan full of cache hits loads these without the audio stack."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class RenditionFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: str
    encoding: str
    sample_rate: int
    channels: int
    duration: float  # seconds
    loudness: float | None  # measured integrated LUFS of the rendition (None: too short/silent)
    true_peak: float | None  # measured dBTP of the rendition
    target_reached: bool = True  # False: the loudness target was not reached (see notes)
    notes: list[str] = Field(default_factory=list)


class Rendition(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: Path
    sha256: str
    size: int
    facts: RenditionFacts
