"""The stat-keyed digest cache as a user meets it: a plan after an audio file
was rewritten — same size, its mtime put back — shows the new content."""

from __future__ import annotations

import os
import time

from reconciler.digests import CACHE_DIR, CACHE_FILE, RACY_NS
from tests.conftest import make_wav


def test_a_rewrite_with_the_mtime_put_back_is_planned_as_a_change(workspace, run_cli):
    old, new = make_wav(0.2, seed=1), make_wav(0.2, seed=2)
    assert len(old) == len(new)
    path = workspace.audio("welcome.wav", old)
    workspace.write('[providers.local]\ntype = "directory"\npath = "remote"\n'
                    '[providers.local.assets.welcome]\nfile = "audio/welcome.wav"\n')
    time.sleep(RACY_NS / 1e9 + 0.2)  # old enough for the cache to trust its entry
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    assert code == 0, out + err
    assert str(path) in (workspace.root / CACHE_DIR / CACHE_FILE).read_text()
    code, out, _ = run_cli("plan", "-c", str(workspace.config), "--detailed-exitcode")
    assert code == 0, out

    before = os.stat(path)
    path.write_bytes(new)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    code, out, _ = run_cli("plan", "-c", str(workspace.config), "--detailed-exitcode")
    assert code == 2, out
    assert "welcome" in out and "replace" in out.lower()
    code, out, err = run_cli("apply", "-c", str(workspace.config), "--auto-approve")
    assert code == 0, out + err
    assert (workspace.target / "welcome.wav").read_bytes() == new
