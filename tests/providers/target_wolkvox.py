"""wolkvox in the provider contract suite."""

from __future__ import annotations

from reconciler.errors import AuthError, BadRequestError, QuotaError, RateLimitError
from tests.conftest import make_wav
from tests.emulators import wolkvox as wv
from tests.providers.targets import ContractTarget

TARGET = ContractTarget(
    type_name="wolkvox",
    make_emulator=wv.WolkvoxEmulator,
    token_env="WOLKVOX_TOKEN",
    make_audio=lambda seed: make_wav(0.2 + seed / 100, seed=seed),
    console_upload=lambda em, name, data: em.console_upload(name, data),
    set_page_size=lambda em, n: em.set_page_size(n),
    documented_errors=[
        (401, wv.error_body(401, wv.NO_TOKEN), AuthError, wv.NO_TOKEN),
        (403, wv.error_body(403, wv.BAD_TOKEN), AuthError, wv.BAD_TOKEN),
        (403, wv.error_body(403, wv.SIMULTANEOUS), RateLimitError, wv.SIMULTANEOUS),
        (403, wv.error_body(403, wv.QUOTA), QuotaError, wv.QUOTA),
        (400, wv.error_body(400, wv.PARAMS), BadRequestError, wv.PARAMS),
        (400, wv.error_body(400, wv.NO_API), BadRequestError, wv.NO_API),
        # an error told only in the body, with HTTP 200 and a numeric code
        (200, {"code": 403, "error": wv.BAD_TOKEN, "msg": None, "data": None}, AuthError, wv.BAD_TOKEN),
    ],
    is_create=lambda m, p: m == "POST" and p.endswith("configuration.php"),
    is_list=lambda m, p: m == "GET" and p.endswith("information.php"),
    paginated=False,
)
